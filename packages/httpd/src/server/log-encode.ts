/**
 * Byte writers for access-log lines: each writes at offset `p` of `b` and returns
 * the offset after what it wrote. The caller has made room first (the line's
 * bound, see access-log.ts), so none of them checks the buffer's end.
 *
 * A line used to be a template string per field, joined and then encoded by a
 * WriteStream: about 1.3 KB of garbage and a flattening copy per line. These
 * write the bytes where they go. The fast paths cover what a client usually
 * sends (printable ASCII); anything else takes the exact code the string
 * formats used (JSON.stringify, escapeLogValue), so a line is byte for byte
 * what it was.
 */

const HEX = '0123456789ABCDEF';

/**
 * Escapes a logged value as nginx does (ngx_http_log_escape, `escape=default`):
 * `"`, `\`, controls and every byte outside printable ASCII become `\xHH`. Header
 * values are held as latin1 text, one char per byte received, so an 8-bit byte in
 * User-Agent or Referer is logged as the byte it was, not as mojibake, and nothing
 * a client sends can break a line or a field of the log.
 */
export function escapeLogValue(v: string): string {
  if (!/[^\x20-\x21\x23-\x5b\x5d-\x7e]/.test(v)) return v;
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) out += ch;
    else if (c <= 0xff) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).toUpperCase()}`; // not from the wire (latin1): its UTF-8 bytes
  }
  return out;
}

/** Most bytes one UTF-16 unit of a value can become: `\uXXXX` (JSON) or three UTF-8 bytes as `\xHH` (combined). */
export const JSON_EXPANSION = 6;
export const CLF_EXPANSION = 12;

/** Text the server made (a literal, an address): as UTF-8, one store a byte while it is ASCII. */
export function putText(b: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return p + b.write(s.slice(i), p, 'utf8');
    b[p++] = c;
  }
  return p;
}

/** Printable ASCII without '"' and '\\': written between quotes as it is, in either format. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/**
 * Up to this many chars, a value is checked and copied a char at a time in JS; a
 * longer one (a User-Agent) is tested by the regular expression and copied by
 * Buffer#write, whose fixed cost (about 100 ns here) is below 4-6 ns a char.
 */
const SHORT = 24;

/** The text as the json format always wrote it: as it is when plain, else JSON.stringify (ECMA-262 §25.5.2.3 QuoteJSONString). */
export const jsonText = (v: string | undefined | null) => (v === undefined || v === null ? 'null' : PLAIN.test(v) ? `"${v}"` : JSON.stringify(v));

/** Copies `src` to `p`: a loop for a few bytes, TypedArray#set (memmove) for more. */
export function putBytes(b: Buffer, p: number, src: Uint8Array): number {
  const n = src.length;
  if (n > 16) b.set(src, p);
  else for (let i = 0; i < n; i++) b[p + i] = src[i]!;
  return p + n;
}

/** The bytes of an ASCII literal, for putBytes. */
export const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

const NO_KEY = Symbol('none');

/**
 * A part of a line that repeats from one line to the next (the time within a
 * millisecond, the host, the remote address of a connection, the site's digest)
 * as the UTF-8 bytes of `make(key)`, remade only when the key changes: a
 * one-entry memo, compared by value.
 */
export class BytesMemo<K, L = undefined> {
  private key: K | typeof NO_KEY = NO_KEY;
  private second: L | typeof NO_KEY = NO_KEY;
  private bytes: Uint8Array = new Uint8Array(0);
  constructor(private readonly make: (key: K, second: L) => string) {}

  /** Writes make(key, second), a part keyed by one value or two (the millisecond and the Host). */
  put(b: Buffer, p: number, key: K, second: L): number {
    if (key !== this.key || second !== this.second) {
      this.bytes = Buffer.from(this.make(key, second), 'utf8');
      this.key = key;
      this.second = second;
    }
    return putBytes(b, p, this.bytes);
  }
}

/** "null", or `s[from, to)` as a JSON string: as it is when printable ASCII without `"` and `\`, else JSON.stringify's text as UTF-8 (ECMA-262 §25.5.2.3 QuoteJSONString; RFC 8259 §7). */
export function putJsonString(b: Buffer, p: number, s: string | undefined | null, from = 0, to = s == null ? 0 : s.length): number {
  if (s === undefined || s === null) {
    b[p] = 0x6e; // null
    b[p + 1] = 0x75;
    b[p + 2] = 0x6c;
    b[p + 3] = 0x6c;
    return p + 4;
  }
  const start = p;
  if (to - from > SHORT) {
    const v = from === 0 && to === s.length ? s : s.slice(from, to);
    return PLAIN.test(v) ? putQuotedAscii(b, p, v) : p + b.write(JSON.stringify(v), p, 'utf8');
  }
  b[p++] = 0x22;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return start + b.write(JSON.stringify(from === 0 && to === s.length ? s : s.slice(from, to)), start, 'utf8');
    b[p++] = c;
  }
  b[p++] = 0x22;
  return p;
}

/** `"v"` for a v of printable ASCII. */
function putQuotedAscii(b: Buffer, p: number, v: string): number {
  b[p++] = 0x22;
  p += b.write(v, p, 'latin1');
  b[p++] = 0x22;
  return p;
}

/** `s` escaped as escapeLogValue does, without quotes: a byte outside printable ASCII (or `"`, `\`) is `\xHH`. */
export function putClfEscaped(b: Buffer, p: number, s: string): number {
  if (s.length > SHORT && PLAIN.test(s)) return p + b.write(s, p, 'latin1');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) b[p++] = c;
    else if (c <= 0xff) {
      b[p] = 0x5c;
      b[p + 1] = 0x78;
      b[p + 2] = HEX.charCodeAt(c >> 4);
      b[p + 3] = HEX.charCodeAt(c & 15);
      p += 4;
    } else return p + b.write(escapeLogValue(s.slice(i)), p, 'latin1'); // not from the wire: its UTF-8 bytes, by code point
  }
  return p;
}

/** A non-negative integer in decimal, as String(n) writes it; anything else through String(). */
export function putNumber(b: Buffer, p: number, n: number): number {
  // Most numbers (a status, a body size) fit in 31 bits: integer division, not Math.floor of a double.
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
    let digits = 1;
    for (let m = n; m >= 10; m = (m / 10) | 0) digits++;
    let q = p + digits;
    let m = n;
    do {
      const d = (m / 10) | 0;
      b[--q] = 0x30 + m - d * 10;
      m = d;
    } while (m > 0);
    return p + digits;
  }
  if (!(n >= 0 && n < 1e15 && Math.floor(n) === n)) return putText(b, p, String(n));
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  let q = p + digits;
  let m = n;
  do {
    b[--q] = 0x30 + (m % 10);
    m = Math.floor(m / 10);
  } while (m > 0);
  return p + digits;
}

/**
 * `ms` rounded to the microsecond, as String(Math.round(ms * 1000) / 1000) writes
 * it: k = the microseconds, then "k / 1000" with the fraction's trailing zeros
 * dropped. That text is the shortest that reads back as k / 1000 (every decimal
 * of three places below 1e12 is a distinct double), so it is what String() gives.
 */
export function putMillis(b: Buffer, p: number, ms: number): number {
  const k = Math.round(ms * 1000);
  if (!(k >= 0 && k < 1e15)) return putText(b, p, String(k / 1000));
  // Under 2^31 us (35 minutes, every duration but a stalled download's): integer arithmetic.
  const small = k <= 0x7fffffff;
  const whole = small ? ((k / 1000) | 0) : Math.floor(k / 1000);
  let frac = small ? (k | 0) - whole * 1000 : k - whole * 1000;
  p = putNumber(b, p, whole);
  if (frac === 0) return p;
  b[p++] = 0x2e;
  const hundreds = (frac / 100) | 0;
  b[p++] = 0x30 + hundreds;
  frac -= hundreds * 100;
  if (frac === 0) return p;
  const tens = (frac / 10) | 0;
  b[p++] = 0x30 + tens;
  frac -= tens * 10;
  if (frac !== 0) b[p++] = 0x30 + frac;
  return p;
}
