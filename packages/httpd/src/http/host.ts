/**
 * The host a request is for (RFC 9110 section 7.2, RFC 3986 section 3.2.2):
 * lower-cased, without port or trailing dot. Undefined when the value is not
 * a valid `uri-host [ ":" port ]`.
 */
const cache = new Map<string, string | undefined>();

export function normaliseHost(value: string): string | undefined {
  // One lookup: has() then get() hashed and probed twice (the string's hash is kept, the probe is not).
  const known = cache.get(value);
  if (known !== undefined || cache.has(value)) return known;
  const host = normaliseUncached(value);
  if (cache.size >= 1024) cache.clear();
  cache.set(value, host);
  return host;
}

function normaliseUncached(value: string): string | undefined {
  let v = value.trim().toLowerCase();
  if (v === '') return '';
  let host: string;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close === -1) return undefined;
    host = v.slice(0, close + 1);
    const rest = v.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && validPort(rest.slice(1)))) return undefined;
    if (!/^\[[0-9a-f:.]+\]$|^\[v[0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+\]$/.test(host)) return undefined;
    return host;
  }
  const colon = v.lastIndexOf(':');
  if (colon !== -1) {
    if (!validPort(v.slice(colon + 1))) return undefined;
    v = v.slice(0, colon);
  }
  host = v.endsWith('.') ? v.slice(0, -1) : v;
  // reg-name = *( unreserved / pct-encoded / sub-delims )
  if (host === '' || !/^[a-z0-9\-._~!$&'()*+,;=%]+$/.test(host)) return undefined;
  return host;
}

/**
 * port = *DIGIT (RFC 3986 section 3.2.3), empty allowed; a TCP port is 0-65535
 * (RFC 9293 section 3.1), so `x:99999` names no port and the Host is invalid.
 */
function validPort(digits: string): boolean {
  return /^\d*$/.test(digits) && (digits === '' || Number(digits) <= 65535);
}
