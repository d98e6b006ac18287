import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, parseRequestHead, type FieldSectionSlot, type ParseLimits, type ParseOutcome } from '../src/http/parse-request.js';

/**
 * parseRequestHead with a FieldSectionMemo must say exactly what it says without one: the memo only skips
 * parsing bytes it has parsed before. These tests parse a head after another has primed the slot and
 * compare with a parse from nothing.
 */

/** What a parse says, without the text it kept (raw is left out on a memo hit, by design). */
function said(r: ParseOutcome): unknown {
  if (r.kind !== 'head') return r;
  const { raw: _raw, line: _line, headers, ...rest } = r.head;
  return { kind: r.kind, end: r.end, head: { ...rest, headers: { ...headers } } };
}

const bytes = (s: string) => Buffer.from(s, 'latin1');

/** A slot after `first` came twice (a memo is made the second time a section comes). */
function primed(first: string, limits: ParseLimits = DEFAULT_LIMITS): FieldSectionSlot {
  const slot: FieldSectionSlot = { memo: undefined, seen: 0 };
  parseRequestHead(bytes(first), 0, limits, slot);
  parseRequestHead(bytes(first), 0, limits, slot);
  return slot;
}

describe('parseRequestHead with a field-section memo', () => {
  it('a head whose fields are the last head\'s reuses their parse: same result, same headers object', () => {
    const slot: FieldSectionSlot = { memo: undefined, seen: 0 };
    const fields = 'Host: example.com\r\nUser-Agent: a browser\r\nAccept-Encoding: gzip, br\r\nIf-None-Match: "x"\r\n\r\n';
    parseRequestHead(bytes(`GET /first HTTP/1.1\r\n${fields}`), 0, DEFAULT_LIMITS, slot);
    expect(slot.memo).toBeUndefined(); // once is not yet a pattern
    const a = parseRequestHead(bytes(`GET /a HTTP/1.1\r\n${fields}`), 0, DEFAULT_LIMITS, slot);
    expect(slot.memo).toBeDefined();
    const b = parseRequestHead(bytes(`HEAD /b/c?d HTTP/1.1\r\n${fields}GET`), 0, DEFAULT_LIMITS, slot);
    if (a.kind !== 'head' || b.kind !== 'head') throw new Error('both parse');
    expect(b.head.headers).toBe(a.head.headers);
    expect(b.head.raw).toBeUndefined();
    expect(b.head.line).toBe('HEAD /b/c?d HTTP/1.1');
    expect(said(b)).toEqual(said(parseRequestHead(bytes(`HEAD /b/c?d HTTP/1.1\r\n${fields}GET`), 0)));
  });

  it('fields that change every request never make a memo; other fields drop the one there was', () => {
    const slot: FieldSectionSlot = { memo: undefined, seen: 0 };
    for (let i = 0; i < 5; i++) {
      parseRequestHead(bytes(`GET / HTTP/1.1\r\nHost: h\r\nReferer: /page/${i}\r\n\r\n`), 0, DEFAULT_LIMITS, slot);
      expect(slot.memo).toBeUndefined();
    }
    const kept = primed('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(kept.memo).toBeDefined();
    const r = parseRequestHead(bytes('GET / HTTP/1.1\r\nHost: other\r\n\r\n'), 0, DEFAULT_LIMITS, kept);
    expect(r).toMatchObject({ kind: 'head', head: { headers: { host: 'other' } } });
    expect(kept.memo).toBeUndefined();
  });

  it('a head with a body is never kept (Content-Length, Transfer-Encoding: RFC 9112 section 6.3)', () => {
    expect(primed('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n').memo).toBeUndefined();
    expect(primed('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n').memo).toBeUndefined();
    expect(primed('GET / HTTP/1.1\r\nHost h\r\n\r\n').memo).toBeUndefined(); // an error is not kept either
  });

  it('the request-line is still checked: bad bytes, a bad method or version get the full parse\'s answer (RFC 9112 section 3)', () => {
    const fields = 'Host: h\r\n\r\n';
    for (const line of ['GET /a\x01 HTTP/1.1', 'GET /a\rb HTTP/1.1', 'G@T / HTTP/1.1', 'GET / HTTP/2.0', 'GET / HTTP/1.x', 'GET  / HTTP/1.1', 'GET / HTTP/1.1 x']) {
      const head = `${line}\r\n${fields}`;
      const r = parseRequestHead(bytes(head), 0, DEFAULT_LIMITS, primed(`GET / HTTP/1.1\r\n${fields}`));
      expect(r.kind, JSON.stringify(line)).toBe('error');
      expect(said(r)).toEqual(said(parseRequestHead(bytes(head), 0)));
    }
  });

  it('HTTP/1.0 keeps the connection only with Connection: keep-alive, memo or not (RFC 9112 Appendix C.2.2)', () => {
    const fields = 'Host: h\r\nConnection: keep-alive\r\n\r\n';
    const slot = primed(`GET / HTTP/1.1\r\n${fields}`);
    const r = parseRequestHead(bytes(`GET / HTTP/1.0\r\n${fields}`), 0, DEFAULT_LIMITS, slot);
    expect(r).toMatchObject({ kind: 'head', head: { minor: 0, keepAlive: true } });
    const plain = primed('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(parseRequestHead(bytes('GET / HTTP/1.0\r\nHost: h\r\n\r\n'), 0, DEFAULT_LIMITS, plain)).toMatchObject({ kind: 'head', head: { minor: 0, keepAlive: false } });
  });

  it('a stricter limit than the memo was made under still applies (431)', () => {
    const fields = 'Host: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n';
    const slot = primed(`GET / HTTP/1.1\r\n${fields}`);
    const tight = { ...DEFAULT_LIMITS, maxHeaders: 2 };
    expect(parseRequestHead(bytes(`GET / HTTP/1.1\r\n${fields}`), 0, tight, slot)).toMatchObject({ kind: 'error', status: 431 });
  });

  it('a head that is incomplete, or continues past where the memo ends, is parsed in full', () => {
    const fields = 'Host: h\r\nUser-Agent: u\r\n\r\n';
    const slot = primed(`GET / HTTP/1.1\r\n${fields}`);
    expect(parseRequestHead(bytes(`GET / HTTP/1.1\r\n${fields.slice(0, -1)}`), 0, DEFAULT_LIMITS, slot)).toEqual({ kind: 'incomplete' });
    // A head still arriving keeps the memo: once whole, it is the memo's.
    const memo = slot.memo;
    expect(memo).toBeDefined();
    const whole = parseRequestHead(bytes(`GET / HTTP/1.1\r\n${fields}`), 0, DEFAULT_LIMITS, slot);
    expect(whole.kind === 'head' && whole.head.headers).toBe(memo!.headers);
    // The same first bytes, then more fields: a prefix match is not a match.
    const longer = `GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nRange: bytes=0-1\r\n\r\n`;
    const r = parseRequestHead(bytes(longer), 0, DEFAULT_LIMITS, slot);
    expect(r).toMatchObject({ kind: 'head', head: { headers: { range: 'bytes=0-1' } } });
  });

  // Any two heads built from the pieces below, valid or not: the second parsed after the first primed the
  // slot says what it says alone, and the same holds for a head parsed twice (the second time from the memo).
  const requestLine = fc.constantFrom('GET / HTTP/1.1', 'HEAD /a?b HTTP/1.1', 'GET /x HTTP/1.0', 'GET / HTTP/2.0', 'GE\x7fT / HTTP/1.1', 'GET /\ta HTTP/1.1', 'GET http://h/p HTTP/1.1', 'OPTIONS * HTTP/1.1', 'GET / HTTP/1.1\r');
  const fieldLine = fc.constantFrom(
    'Host: h',
    'host: other:80',
    'If-None-Match: "x"',
    'Connection: close',
    'Connection: keep-alive',
    'Content-Length: 0',
    'Content-Length: 5',
    'Transfer-Encoding: chunked',
    'X-Other: a\x01b',
    'X-Bare: a\rb',
    ' folded',
    'Bad Name: v',
    'Accept-Encoding: gzip',
    'User-Agent: u',
    'Range: bytes=0-0',
  );
  const head = fc.tuple(requestLine, fc.array(fieldLine, { maxLength: 6 }), fc.constantFrom('\r\n', '\n'), fc.constantFrom('', 'GET / HTTP/1.1\r\n')).map(([line, fields, eol, after]) => `${line}${eol}${fields.map((f) => f + eol).join('')}${eol}${after}`);

  it('says the same as a parse without a memo, for any two heads in a row (property)', () => {
    fc.assert(
      fc.property(head, head, fc.constantFrom(DEFAULT_LIMITS, { ...DEFAULT_LIMITS, maxHeaders: 3 }), (first, second, limits) => {
        const alone = said(parseRequestHead(bytes(second), 0, limits));
        expect(said(parseRequestHead(bytes(second), 0, limits, primed(first, limits)))).toEqual(alone);
        // A memo made under the default limits, read under these.
        expect(said(parseRequestHead(bytes(second), 0, limits, primed(first)))).toEqual(alone);
        const slot = primed(second, limits);
        expect(said(parseRequestHead(bytes(second), 0, limits, slot))).toEqual(alone);
        // The second head with the first's request-line: the fields hit, the line is new.
        const swapped = first.slice(0, first.indexOf('\n') + 1) + second.slice(second.indexOf('\n') + 1);
        expect(said(parseRequestHead(bytes(swapped), 0, limits, slot))).toEqual(said(parseRequestHead(bytes(swapped), 0, limits)));
      }),
      { numRuns: 3000 },
    );
  });
});
