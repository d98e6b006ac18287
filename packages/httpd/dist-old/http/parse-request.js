/**
 * Incremental HTTP/1.1 request-head parser (RFC 9112 sections 2-3, 5-6).
 * Pure: bytes in, a decision out. Bodies are never parsed: the head says how
 * long one is, and the connection skips it or closes.
 */
export const DEFAULT_LIMITS = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100 };
const INCOMPLETE = { kind: 'incomplete' };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field-value: visible characters, obs-text, SP and HTAB; no CR, LF or NUL (RFC 9110 section 5.5).
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
function bad(reason) {
    return { kind: 'error', status: 400, reason };
}
/** Parses one request head starting at `start`; `end` in the result is where the next bytes begin. */
export function parseRequestHead(buf, start, limits = DEFAULT_LIMITS) {
    let pos = start;
    // RFC 9112 section 2.2: ignore empty lines received before the request-line.
    while (pos < buf.length && (buf[pos] === 0x0d || buf[pos] === 0x0a))
        pos++;
    if (pos - start > 64)
        return bad('too many empty lines before the request-line');
    const lineEnd = buf.indexOf(0x0a, pos);
    if (lineEnd === -1) {
        return buf.length - pos > limits.maxRequestLine ? { kind: 'error', status: 414, reason: 'request-line too long' } : INCOMPLETE;
    }
    if (lineEnd - pos > limits.maxRequestLine + 1)
        return { kind: 'error', status: 414, reason: 'request-line too long' };
    const line = buf.toString('latin1', pos, buf[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd);
    // request-line = method SP request-target SP HTTP-version (RFC 9112 section 3)
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 === -1 || line.indexOf(' ', sp2 + 1) !== -1)
        return bad('malformed request-line');
    const method = line.slice(0, sp1);
    const target = line.slice(sp1 + 1, sp2);
    const version = line.slice(sp2 + 1);
    if (!TOKEN.test(method))
        return bad('malformed method');
    if (target === '')
        return bad('empty request-target');
    const vm = /^HTTP\/(\d)\.(\d)$/.exec(version);
    if (!vm)
        return bad('malformed HTTP-version');
    if (vm[1] !== '1')
        return { kind: 'error', status: 505, reason: `HTTP/${vm[1]}.${vm[2]} is not supported` };
    const minor = Number(vm[2]);
    const headers = Object.create(null);
    let hostCount = 0;
    let count = 0;
    let p = lineEnd + 1;
    const headerStart = p;
    for (;;) {
        const e = buf.indexOf(0x0a, p);
        if (e === -1) {
            return buf.length - headerStart > limits.maxHeaderBytes ? { kind: 'error', status: 431, reason: 'header section too large' } : INCOMPLETE;
        }
        if (e - headerStart > limits.maxHeaderBytes)
            return { kind: 'error', status: 431, reason: 'header section too large' };
        const lineStop = buf[e - 1] === 0x0d ? e - 1 : e;
        if (lineStop === p) {
            p = e + 1;
            break;
        }
        if (++count > limits.maxHeaders)
            return { kind: 'error', status: 431, reason: 'too many header fields' };
        const first = buf[p];
        // obs-fold (RFC 9112 section 5.2): we reject it with 400.
        if (first === 0x20 || first === 0x09)
            return bad('obsolete line folding');
        const raw = buf.toString('latin1', p, lineStop);
        const colon = raw.indexOf(':');
        if (colon <= 0)
            return bad('header line without a field name');
        const name = raw.slice(0, colon);
        // No whitespace is allowed between the field name and the colon (RFC 9112 section 5.1).
        if (!TOKEN.test(name))
            return bad('malformed field name');
        const value = raw.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
        if (BAD_VALUE.test(value))
            return bad('invalid character in field value');
        const key = name.toLowerCase();
        if (key === 'host')
            hostCount++;
        const prev = headers[key];
        headers[key] = prev === undefined ? value : `${prev}, ${value}`;
        p = e + 1;
    }
    // Message body length (RFC 9112 section 6.3).
    let contentLength = 0;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined) {
        if (cl !== undefined)
            return bad('both Transfer-Encoding and Content-Length');
        if (minor === 0)
            return bad('Transfer-Encoding in an HTTP/1.0 request');
        const codings = te.split(',').map((s) => s.trim().toLowerCase());
        if (codings[codings.length - 1] !== 'chunked')
            return bad('Transfer-Encoding does not end in chunked');
    }
    else if (cl !== undefined) {
        const values = cl.split(',').map((s) => s.trim());
        if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0]))
            return bad('invalid Content-Length');
        contentLength = Number(values[0]);
    }
    const connection = headers.connection?.toLowerCase() ?? '';
    const tokens = connection === '' ? [] : connection.split(',').map((s) => s.trim());
    // HTTP/1.1 persists unless "close"; HTTP/1.0 closes unless it asks for "keep-alive" (RFC 9112 section 9.3, Appendix C.2.2).
    const keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive') && !tokens.includes('close');
    return {
        kind: 'head',
        end: p,
        head: { method, target, minor, headers, hostCount, contentLength, chunked: te !== undefined, keepAlive },
    };
}
//# sourceMappingURL=parse-request.js.map