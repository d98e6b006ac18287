import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, RequestHeaders, parseRequestHead } from '../src/http/parse-request.js';

const parse = (s: string) => parseRequestHead(Buffer.from(s, 'latin1'), 0);

describe('parseRequestHead (RFC 9112)', () => {
  it('parses a request line and the fields the server uses; repeated fields are joined (RFC 9110 section 5.3)', () => {
    const head = 'GET /a?b HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\naccept-encoding: br\r\nX-Other: dropped\r\nRange:\r\n\r\n';
    const r = parse(`${head}NEXT`);
    expect(r).toMatchObject({
      kind: 'head',
      head: { method: 'GET', target: '/a?b', minor: 1, hostCount: 1, keepAlive: true, contentLength: 0, chunked: false },
    });
    if (r.kind !== 'head') throw new Error();
    expect(r.head.headers).toBeInstanceOf(RequestHeaders);
    expect({ ...r.head.headers }).toEqual({ ...new RequestHeaders(), host: 'x', 'accept-encoding': 'gzip, br', range: '' });
    expect(r.end).toBe(Buffer.byteLength(head));
  });

  it('fields it does not keep are still validated', () => {
    expect(parse('GET / HTTP/1.1\r\nX-Unused: a\x01b\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
    expect(parse('GET / HTTP/1.1\r\nX-Unused: a\rb\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 }); // bare CR
    expect(parse('GET / HTTP/1.1\r\nX Unused: a\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
  });

  // Field names are case-insensitive (RFC 9110 section 5.1): the spellings clients use are looked up as they are,
  // every other spelling takes the general path, and both must give the same fields.
  it.each([
    ['If-None-Match', 'if-none-match'],
    ['if-none-match', 'if-none-match'],
    ['IF-NONE-MATCH', 'if-none-match'],
    ['iF-nOnE-mAtCh', 'if-none-match'],
    ['User-Agent', 'user-agent'],
    ['USER-AGENT', 'user-agent'],
    ['Content-Length', 'content-length'],
    ['content-LENGTH', 'content-length'],
  ] as const)('field name %s is the field %s whatever its case (RFC 9110 section 5.1)', (spelled, key) => {
    const value = key === 'content-length' ? '0' : 'v';
    const r = parse(`GET / HTTP/1.1\r\nHOST: h\r\n${spelled}:  ${value} \r\n\r\n`);
    if (r.kind !== 'head') throw new Error(JSON.stringify(r));
    expect(r.head.headers[key]).toBe(value);
    expect(r.head.headers.host).toBe('h');
    expect(r.head.hostCount).toBe(1);
  });

  it('known fields the server drops (Accept, Cookie, Sec-Fetch-*) keep nothing, and their values are still checked (RFC 9110 section 5.5)', () => {
    const r = parse('GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nCookie: a=b\r\nSec-Fetch-Mode: navigate\r\nhOsT: again\r\n\r\n');
    if (r.kind !== 'head') throw new Error(JSON.stringify(r));
    expect({ ...r.head.headers }).toEqual({ ...new RequestHeaders(), host: 'h, again' });
    expect(r.head.hostCount).toBe(2);
    expect(parse('GET / HTTP/1.1\r\nHost: h\r\nAccept: a\x00b\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
    expect(parse('GET / HTTP/1.1\r\nHost: h\r\nAccept : a\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
  });

  it('accepts bare LF line endings and leading empty lines (RFC 9112 sections 2.2)', () => {
    expect(parse('\r\n\r\nGET / HTTP/1.1\nHost: x\n\n')).toMatchObject({ kind: 'head', head: { target: '/' } });
  });

  it('keep-alive: HTTP/1.1 unless close; HTTP/1.0 only when it asks (RFC 9112 section 9.3, Appendix C.2.2)', () => {
    expect(parse('GET / HTTP/1.1\r\n\r\n')).toMatchObject({ head: { keepAlive: true } });
    expect(parse('GET / HTTP/1.1\r\nConnection: close\r\n\r\n')).toMatchObject({ head: { keepAlive: false } });
    expect(parse('GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n')).toMatchObject({ head: { keepAlive: false } });
    expect(parse('GET / HTTP/1.0\r\n\r\n')).toMatchObject({ head: { keepAlive: false, minor: 0 } });
    expect(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toMatchObject({ head: { keepAlive: true, minor: 0 } });
  });

  it('is incomplete until the blank line', () => {
    expect(parse('GET / HTTP/1.1\r\nHost: x\r\n')).toEqual({ kind: 'incomplete' });
    expect(parse('GET / HT')).toEqual({ kind: 'incomplete' });
  });

  it.each([
    ['GET  / HTTP/1.1\r\n\r\n', 400, 'malformed request-line'],
    ['GET / HTTP/1.1 extra\r\n\r\n', 400, 'malformed request-line'],
    ['G(T / HTTP/1.1\r\n\r\n', 400, 'malformed method'],
    ['GET / HTTP/1.x\r\n\r\n', 400, 'malformed HTTP-version'],
    ['GET / HTTP/2.0\r\n\r\n', 505, 'not supported'],
    ['GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400, 'malformed field name'], // RFC 9112 section 5.1
    ['GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n', 400, 'obsolete line folding'], // RFC 9112 section 5.2
    ['GET / HTTP/1.1\r\nNoColon\r\n\r\n', 400, 'without a field name'],
    ['GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', 400, 'invalid character'],
    ['GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid character'], // RFC 9112 section 3: controls in the request-line
    ['GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid character'], // a bare CR (RFC 9112 section 2.2)
    ['POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'both'], // RFC 9112 section 6.3
    ['POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400, 'invalid Content-Length'],
    ['POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 400, 'invalid Content-Length'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 400, 'does not end in chunked'],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'HTTP/1.0'],
  ])('%j -> %i', (req, status, reason) => {
    const r = parse(req);
    expect(r).toMatchObject({ kind: 'error', status });
    expect((r as { reason: string }).reason).toContain(reason);
  });

  it('identical repeated Content-Length values are one length (RFC 9112 section 6.3)', () => {
    expect(parse('POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n')).toMatchObject({ head: { contentLength: 5 } });
  });

  it('414 for a long request-line, 431 for a large header section or too many fields', () => {
    const long = `GET /${'a'.repeat(DEFAULT_LIMITS.maxRequestLine)} HTTP/1.1\r\n\r\n`;
    expect(parse(long)).toMatchObject({ kind: 'error', status: 414 });
    expect(parse(`GET /${'a'.repeat(DEFAULT_LIMITS.maxRequestLine + 10)}`)).toMatchObject({ kind: 'error', status: 414 }); // before the line ends
    const big = `GET / HTTP/1.1\r\nX: ${'b'.repeat(DEFAULT_LIMITS.maxHeaderBytes)}\r\n\r\n`;
    expect(parse(big)).toMatchObject({ kind: 'error', status: 431 });
    const many = `GET / HTTP/1.1\r\n${Array.from({ length: DEFAULT_LIMITS.maxHeaders + 1 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
    expect(parse(many)).toMatchObject({ kind: 'error', status: 431 });
  });
});
