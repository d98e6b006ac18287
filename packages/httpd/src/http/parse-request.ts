/**
 * Incremental HTTP/1.1 request-head parser (RFC 9112 sections 2-3, 5-6).
 * Pure: bytes in, a decision out. Bodies are never parsed: the head says how
 * long one is, and the connection skips it or closes.
 */

/**
 * The request fields the server acts on, by lower-cased name; repeated fields
 * are joined with ", " (RFC 9110 section 5.3). Other fields are validated and
 * dropped: nothing reads or forwards them. A class, so every instance has one
 * shape (measured: dictionary-mode objects were a third of parsing time).
 */
export class RequestHeaders {
  host: string | undefined = undefined;
  connection: string | undefined = undefined;
  'content-length': string | undefined = undefined;
  'transfer-encoding': string | undefined = undefined;
  'accept-encoding': string | undefined = undefined;
  range: string | undefined = undefined;
  'if-range': string | undefined = undefined;
  'if-match': string | undefined = undefined;
  'if-none-match': string | undefined = undefined;
  'if-modified-since': string | undefined = undefined;
  'if-unmodified-since': string | undefined = undefined;
  referer: string | undefined = undefined;
  'user-agent': string | undefined = undefined;
}

const join = (prev: string | undefined, value: string) => (prev === undefined ? value : `${prev}, ${value}`);

/** The fields the server acts on, as small numbers for store()'s switch; 0: validated and dropped. */
const FIELD_IDS: Record<string, number> = {
  host: 1,
  connection: 2,
  'content-length': 3,
  'transfer-encoding': 4,
  'accept-encoding': 5,
  range: 6,
  'if-range': 7,
  'if-match': 8,
  'if-none-match': 9,
  'if-modified-since': 10,
  'if-unmodified-since': 11,
  referer: 12,
  'user-agent': 13,
};
/**
 * Field names as clients spell them (Capitalized-Words as HTTP/1.1 clients send them, lower case as
 * proxies from HTTP/2 do), by length, with their id: a name found here is a known token, so it needs
 * neither the tchar check, nor a string of its own, nor a lower-cased copy. Measured on a 304 request
 * head, those were a third of parsing it; a Map keyed by the name cost as much, in hashing the new
 * string. Any other spelling takes the general path, which is exact for every spelling.
 */
const SPELLED: Array<Array<[string, number]> | undefined> = [];
function spell(name: string, id: number): void {
  const list = (SPELLED[name.length] ??= []);
  list.push([name, id], [name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()), id]);
}
for (const [name, id] of Object.entries(FIELD_IDS)) spell(name, id);
const DROPPED = ['accept', 'accept-language', 'cache-control', 'cookie', 'pragma', 'origin', 'priority', 'upgrade-insecure-requests', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-user', 'sec-fetch-dest', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'x-forwarded-for', 'x-forwarded-proto', 'authorization', 'content-type'];
for (const name of DROPPED) spell(name, 0);

/** The id of the field name text[p, p + length) if it is spelled as SPELLED has it; -1 if not. */
function spelledId(text: string, p: number, length: number): number {
  const list = SPELLED[length];
  if (list !== undefined) {
    for (let k = 0; k < list.length; k++) {
      const name = list[k]![0];
      // charCodeAt compiles to a load; startsWith(name, p) was a builtin call costing twice the loop.
      let i = 0;
      while (i < length && text.charCodeAt(p + i) === name.charCodeAt(i)) i++;
      if (i === length) return list[k]![1];
    }
  }
  return -1;
}

/** The id of a field name already known to be a token: FIELD_IDS by its lower-cased spelling. */
function idOfToken(name: string): number {
  const key = name.toLowerCase();
  // Own properties only: a field named "constructor" or "__proto__" is not one of ours.
  return Object.hasOwn(FIELD_IDS, key) ? FIELD_IDS[key]! : 0;
}

/** Keeps `value` in the field `id` names; named stores keep property access monomorphic. */
function store(h: RequestHeaders, id: number, value: string): void {
  switch (id) {
    case 1: h.host = join(h.host, value); break;
    case 2: h.connection = join(h.connection, value); break;
    case 3: h['content-length'] = join(h['content-length'], value); break;
    case 4: h['transfer-encoding'] = join(h['transfer-encoding'], value); break;
    case 5: h['accept-encoding'] = join(h['accept-encoding'], value); break;
    case 6: h.range = join(h.range, value); break;
    case 7: h['if-range'] = join(h['if-range'], value); break;
    case 8: h['if-match'] = join(h['if-match'], value); break;
    case 9: h['if-none-match'] = join(h['if-none-match'], value); break;
    case 10: h['if-modified-since'] = join(h['if-modified-since'], value); break;
    case 11: h['if-unmodified-since'] = join(h['if-unmodified-since'], value); break;
    case 12: h.referer = join(h.referer, value); break;
    case 13: h['user-agent'] = join(h['user-agent'], value); break;
    default: // not a field the server acts on
  }
}

/** Whether a Connection value (a token list) holds `token`, case-insensitively. */
function connectionHas(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (!v.includes(',')) return v.trim() === token;
  return v.split(',').some((t) => t.trim() === token);
}

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  headers: RequestHeaders;
  hostCount: number;
  /** Declared body length; 0 when there is none. */
  contentLength: number;
  /** A Transfer-Encoding was sent: the body's length is unknown to us, so the connection must close. */
  chunked: boolean;
  /** The connection may stay open: HTTP/1.1 without "close", or HTTP/1.0 that asked for keep-alive. */
  keepAlive: boolean;
  /** Set for a request that did not come as HTTP/1.x ('HTTP/2.0'), for the access log. */
  protocol?: string;
  /**
   * HTTP/1.x: the head as received, request-line to last field line, as latin1 text (every field above is a
   * slice of it). Two heads with equal text have equal fields, and comparing this one flat string costs less
   * than comparing its slices (the access log's line memo, server/line-memo.ts).
   */
  raw?: string;
  /**
   * HTTP/1.x: the request-line as received, without its line end. Heads parsed from the same field-section
   * bytes share one headers object (FieldSectionMemo): for two of those, equal lines mean equal heads.
   */
  line?: string;
}

/**
 * A field section that parsed, kept so that the next head with the same bytes
 * after its request-line skips parsing them again: keep-alive clients send the
 * same fields on every request of a connection (a browser's Host, User-Agent,
 * Accept-*, Cookie; a load generator's every field), and on a 304 the section's
 * scan, conversion and field matching were a third of the request's JavaScript
 * (CPU profile of bench/inproc.mjs --only 304). Only a section without a body
 * (no Content-Length, no Transfer-Encoding) is kept: those are the requests a
 * static server answers. Immutable: every head parsed from it shares `headers`.
 */
export class FieldSectionMemo {
  constructor(
    /** From just after the request-line's line feed through the empty line that ends the head. */
    readonly bytes: Buffer,
    readonly headers: RequestHeaders,
    readonly hostCount: number,
    /** Field lines, for the limit. */
    readonly count: number,
    /** Connection holds "close". */
    readonly close: boolean,
    /** Connection holds "keep-alive" (what keeps an HTTP/1.0 connection). */
    readonly keepAliveToken: boolean,
  ) {}
}

/** Where a connection keeps its last FieldSectionMemo: parseRequestHead reads and replaces it. */
export interface FieldSectionSlot {
  memo: FieldSectionMemo | undefined;
  /** The hash of the last section parsed in full (0: none): a memo is made when the next one has the same. */
  seen: number;
}

export type ParseOutcome =
  | { kind: 'incomplete' }
  | { kind: 'head'; head: RequestHead; end: number }
  | { kind: 'error'; status: 400 | 414 | 431 | 505 | 501; reason: string };

export interface ParseLimits {
  /** Longest request-line, in bytes (longer: 414). */
  maxRequestLine: number;
  /** Largest header section after the request-line, in bytes (larger: 431). */
  maxHeaderBytes: number;
  /** Most header fields (more: 431). */
  maxHeaders: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxRequestLine: 8192, maxHeaderBytes: 16384, maxHeaders: 100 };

const INCOMPLETE: ParseOutcome = { kind: 'incomplete' };

/** tchar (RFC 9110 section 5.6.2), as a lookup table. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/**
 * Byte classes for the one scan of a head: line feeds end lines; a CR must be
 * followed by LF; no other control but HTAB may appear anywhere (RFC 9110
 * section 5.5: NUL, CR and LF in a field value must be rejected).
 */
const ORDINARY = 0;
const LF = 1;
const CR = 2;
const FORBIDDEN = 3;
const CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) CLASS[c] = FORBIDDEN;
CLASS[0x7f] = FORBIDDEN;
CLASS[0x09] = ORDINARY;
CLASS[0x0a] = LF;
CLASS[0x0d] = CR;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Whether `s` has "HTTP/1." at `at` (by char codes: startsWith is a builtin call, this is seven loads). */
function isHttp1(s: string, at: number): boolean {
  return (
    s.charCodeAt(at) === 0x48 &&
    s.charCodeAt(at + 1) === 0x54 &&
    s.charCodeAt(at + 2) === 0x54 &&
    s.charCodeAt(at + 3) === 0x50 &&
    s.charCodeAt(at + 4) === 0x2f &&
    s.charCodeAt(at + 5) === 0x31 &&
    s.charCodeAt(at + 6) === 0x2e
  );
}

function bad(reason: string): Extract<ParseOutcome, { kind: 'error' }> {
  return { kind: 'error', status: 400, reason };
}

interface RequestLine {
  kind: 'line';
  method: string;
  target: string;
  minor: number;
}

/** request-line = method SP request-target SP HTTP-version (RFC 9112 section 3), without its line end. */
function parseRequestLine(line: string): RequestLine | Extract<ParseOutcome, { kind: 'error' }> {
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || line.indexOf(' ', sp2 + 1) !== -1) return bad('malformed request-line');
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  if (!isToken(method)) return bad('malformed method');
  if (target === '') return bad('empty request-target');
  if (line.length - sp2 === 9 && isHttp1(line, sp2 + 1) && line.charCodeAt(sp2 + 8) >= 0x30 && line.charCodeAt(sp2 + 8) <= 0x39) {
    return { kind: 'line', method, target, minor: line.charCodeAt(sp2 + 8) - 0x30 };
  }
  const vm = /^HTTP\/(\d)\.(\d)$/.exec(line.slice(sp2 + 1));
  if (!vm) return bad('malformed HTTP-version');
  return { kind: 'error', status: 505, reason: `HTTP/${vm[1]}.${vm[2]} is not supported` };
}

/** Where a complete head ends, and whether it holds a character no head may contain. */
interface HeadEnd {
  /** Just after the line feed of the last line before the empty line. */
  at: number;
  /** Just after the empty line (CRLF, or a bare LF as RFC 9112 section 2.2 allows). */
  after: number;
  badCharacter: boolean;
  /** A hash of the bytes scanned (FieldSectionSlot.seen): nonzero. */
  hash: number;
}

/**
 * Scans from `from` (the request-line's line feed) for the empty line ending the head, checking every byte on
 * the way and hashing them; undefined while incomplete.
 */
function scanHead(buf: Buffer, from: number): HeadEnd | undefined {
  let badCharacter = false;
  let hash = 0;
  const n = buf.length;
  for (let i = from; i < n; i++) {
    const b = buf[i]!;
    hash = (Math.imul(hash, 31) + b) | 0;
    const k = CLASS[b]!;
    if (k === ORDINARY) continue;
    if (k === LF) {
      if (i + 1 >= n) return undefined;
      const next = buf[i + 1];
      if (next === 0x0a) return { at: i + 1, after: i + 2, badCharacter, hash: hash | 1 };
      if (next === 0x0d) {
        if (i + 2 >= n) return undefined;
        if (buf[i + 2] === 0x0a) return { at: i + 1, after: i + 3, badCharacter, hash: hash | 1 };
      }
    } else if (k === CR) {
      if (i + 1 < n && buf[i + 1] !== 0x0a) badCharacter = true;
    } else badCharacter = true;
  }
  return undefined;
}

/** Whether buf[pos, lineEnd), a request-line up to its line feed, holds a character no head may contain (as scanHead checks). */
function lineHasBadCharacter(buf: Buffer, pos: number, lineEnd: number): boolean {
  for (let i = pos; i < lineEnd; i++) {
    const k = CLASS[buf[i]!]!;
    if (k === FORBIDDEN || (k === CR && buf[i + 1] !== 0x0a)) return true;
  }
  return false;
}

/**
 * Parses one request head starting at `start`; `end` in the result is where the next bytes begin.
 * With `slot`, a head whose field section is byte for byte the slot's memo takes that parse
 * (FieldSectionMemo), and a section without a body that parses twice in a row becomes the memo.
 */
export function parseRequestHead(buf: Buffer, start: number, limits: ParseLimits = DEFAULT_LIMITS, slot?: FieldSectionSlot): ParseOutcome {
  let pos = start;
  // RFC 9112 section 2.2: ignore empty lines received before the request-line.
  while (pos < buf.length && (buf[pos] === 0x0d || buf[pos] === 0x0a)) pos++;
  if (pos - start > 64) return bad('too many empty lines before the request-line');
  // A request-line starts with a method token: anything else (a TLS ClientHello, 0x16 0x03, on the plain
  // port; binary noise) is answered at once instead of waiting for a line feed until the header timeout.
  if (pos < buf.length && TCHAR[buf[pos]!] !== 1) {
    return bad(buf[pos] === 0x16 ? 'not HTTP/1.x: a TLS handshake on the plain-HTTP port' : 'request-line does not start with a method');
  }
  const lineEnd = buf.indexOf(0x0a, pos);
  if (lineEnd === -1) {
    return buf.length - pos > limits.maxRequestLine ? { kind: 'error', status: 414, reason: 'request-line too long' } : INCOMPLETE;
  }
  if (lineEnd - pos > limits.maxRequestLine + 1) return { kind: 'error', status: 414, reason: 'request-line too long' };
  const memo = slot?.memo;
  if (memo !== undefined) {
    const known = parseWithMemo(buf, pos, lineEnd, memo, limits);
    if (known !== undefined) return known;
  }
  const headEnd = scanHead(buf, lineEnd);
  if (headEnd === undefined) {
    return buf.length - lineEnd > limits.maxHeaderBytes ? { kind: 'error', status: 431, reason: 'header section too large' } : INCOMPLETE;
  }
  // A whole head with other fields (not one still arriving): a memo again only once they repeat.
  if (memo !== undefined) slot!.memo = undefined;
  if (headEnd.at - lineEnd > limits.maxHeaderBytes + 1) return { kind: 'error', status: 431, reason: 'header section too large' };
  // One conversion for the whole head; everything below works on this string.
  const text = latin1(buf, pos, headEnd.at);
  const rl = lineEnd - pos;
  const line = text.charCodeAt(rl - 1) === 0x0d ? text.slice(0, rl - 1) : text.slice(0, rl);

  const rlp = parseRequestLine(line);
  if (rlp.kind === 'error') return rlp;
  const { method, target, minor } = rlp;

  if (headEnd.badCharacter || lineHasBadCharacter(buf, pos, lineEnd)) return bad('invalid character in field value');
  const headers = new RequestHeaders();
  let hostCount = 0;
  let count = 0;
  let p = rl + 1;
  while (p < text.length) {
    let e = text.indexOf('\n', p);
    if (e === -1) e = text.length;
    const stop = text.charCodeAt(e - 1) === 0x0d ? e - 1 : e;
    if (++count > limits.maxHeaders) return { kind: 'error', status: 431, reason: 'too many header fields' };
    const first = text.charCodeAt(p);
    // obs-fold (RFC 9112 section 5.2): we reject it with 400.
    if (first === 0x20 || first === 0x09) return bad('obsolete line folding');
    const colon = text.indexOf(':', p);
    if (colon === -1 || colon >= stop || colon === p) return bad('header line without a field name');
    let id = spelledId(text, p, colon - p);
    if (id === -1) {
      const name = text.slice(p, colon);
      // No whitespace is allowed between the field name and the colon (RFC 9112 section 5.1).
      if (!isToken(name)) return bad('malformed field name');
      id = idOfToken(name);
    }
    if (id !== 0) {
      let vs = colon + 1;
      let ve = stop;
      while (vs < ve && (text.charCodeAt(vs) === 0x20 || text.charCodeAt(vs) === 0x09)) vs++;
      while (ve > vs && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
      if (id === 1) hostCount++;
      store(headers, id, text.slice(vs, ve));
    }
    p = e + 1;
  }
  p = headEnd.after;

  // Message body length (RFC 9112 section 6.3).
  let contentLength = 0;
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te !== undefined) {
    if (cl !== undefined) return bad('both Transfer-Encoding and Content-Length');
    if (minor === 0) return bad('Transfer-Encoding in an HTTP/1.0 request');
    const codings = te.split(',').map((s) => s.trim().toLowerCase());
    if (codings[codings.length - 1] !== 'chunked') return bad('Transfer-Encoding does not end in chunked');
  } else if (cl !== undefined) {
    const values = cl.split(',').map((s) => s.trim());
    if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) return bad('invalid Content-Length');
    contentLength = Number(values[0]);
  }

  // HTTP/1.1 persists unless "close"; HTTP/1.0 closes unless it asks for "keep-alive" (RFC 9112 section 9.3, Appendix C.2.2).
  const close = connectionHas(headers.connection, 'close');
  const keepAlive = minor === 1 ? !close : !close && connectionHas(headers.connection, 'keep-alive');

  if (slot !== undefined && te === undefined && cl === undefined) {
    // Kept once the same section comes twice in a row (by its hash): fields that change every request (a
    // Referer, a proxy's validators) cost the hash, not a copy and a comparison that never pays.
    if (slot.seen === headEnd.hash) {
      slot.memo = new FieldSectionMemo(Buffer.from(buf.subarray(lineEnd + 1, headEnd.after)), headers, hostCount, count, close, connectionHas(headers.connection, 'keep-alive'));
    }
    slot.seen = headEnd.hash;
  }
  return {
    kind: 'head',
    end: p,
    head: { method, target, minor, headers, hostCount, contentLength, chunked: te !== undefined, keepAlive, raw: text, line },
  };
}

/**
 * Whether buf[from, from + bytes.length) is `bytes`: one memcmp through Buffer#compare's binding without its
 * argument checks (~120 ns here for any head's length, where a JavaScript loop took 2.5 ns a byte), or
 * Buffer#compare itself on a Node without that binding.
 */
const sameBytesAt: (buf: Buffer, from: number, bytes: Buffer) => boolean = (() => {
  type CompareOffset = (a: Uint8Array, b: Uint8Array, bStart: number, aStart: number, bEnd: number, aEnd: number) => number;
  let compareOffset: CompareOffset | undefined;
  try {
    compareOffset = (process as unknown as { binding(name: string): { compareOffset?: CompareOffset } }).binding('buffer').compareOffset;
  } catch {
    compareOffset = undefined;
  }
  if (typeof compareOffset === 'function') {
    const f = compareOffset;
    return (buf, from, bytes) => f(buf, bytes, 0, from, bytes.length, from + bytes.length) === 0;
  }
  return (buf, from, bytes) => buf.compare(bytes, 0, bytes.length, from, from + bytes.length) === 0;
})();

/** buf.toString('latin1', start, end) without its encoding dispatch (Buffer#latin1Slice, where this Node has it). */
const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as unknown as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (buf, start, end) => (buf as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/**
 * The head at `pos` if the bytes after its request-line (which ends at `lineEnd`) are `memo`'s: the request-line
 * is parsed, the fields are the memo's. Undefined for anything else, a request-line that does not parse
 * included: the full parse then says what is wrong, in the same words as without a memo.
 */
function parseWithMemo(buf: Buffer, pos: number, lineEnd: number, memo: FieldSectionMemo, limits: ParseLimits): ParseOutcome | undefined {
  const bytes = memo.bytes;
  const from = lineEnd + 1;
  const end = from + bytes.length;
  // A section ends in a line feed: a cheap test that skips most comparisons bound to fail.
  if (end > buf.length || buf[end - 1] !== 0x0a || bytes.length > limits.maxHeaderBytes || memo.count > limits.maxHeaders) return undefined;
  if (!sameBytesAt(buf, from, bytes)) return undefined;
  // The section's bytes passed scanHead once; the request-line's are checked as the full parse checks them.
  if (lineHasBadCharacter(buf, pos, lineEnd)) return undefined;
  const line = latin1(buf, pos, buf[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd);
  const rlp = parseRequestLine(line);
  if (rlp.kind === 'error') return undefined;
  const minor = rlp.minor;
  const keepAlive = minor === 1 ? !memo.close : !memo.close && memo.keepAliveToken;
  return {
    kind: 'head',
    end,
    head: { method: rlp.method, target: rlp.target, minor, headers: memo.headers, hostCount: memo.hostCount, contentLength: 0, chunked: false, keepAlive, line },
  };
}
