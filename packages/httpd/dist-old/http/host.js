/**
 * The host a request is for (RFC 9110 section 7.2, RFC 3986 section 3.2.2):
 * lower-cased, without port or trailing dot. Undefined when the value is not
 * a valid `uri-host [ ":" port ]`.
 */
export function normaliseHost(value) {
    let v = value.trim().toLowerCase();
    if (v === '')
        return '';
    let host;
    if (v.startsWith('[')) {
        const close = v.indexOf(']');
        if (close === -1)
            return undefined;
        host = v.slice(0, close + 1);
        const rest = v.slice(close + 1);
        if (rest !== '' && !/^:\d*$/.test(rest))
            return undefined;
        if (!/^\[[0-9a-f:.]+\]$|^\[v[0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+\]$/.test(host))
            return undefined;
        return host;
    }
    const colon = v.lastIndexOf(':');
    if (colon !== -1) {
        if (!/^\d*$/.test(v.slice(colon + 1)))
            return undefined;
        v = v.slice(0, colon);
    }
    host = v.endsWith('.') ? v.slice(0, -1) : v;
    // reg-name = *( unreserved / pct-encoded / sub-delims )
    if (host === '' || !/^[a-z0-9\-._~!$&'()*+,;=%]+$/.test(host))
        return undefined;
    return host;
}
//# sourceMappingURL=host.js.map