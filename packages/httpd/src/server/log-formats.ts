import { normaliseHost } from '../http/host.js';
import type { RequestHead } from '../http/parse-request.js';
import type { Site } from '../vhosts/site.js';
import { BytesMemo, CLF_EXPANSION, JSON_EXPANSION, bytes, jsonText, putBytes, putClfEscaped, putJsonString, putMillis, putNumber } from './log-encode.js';

/*
 * The two access-log formats, written straight into a buffer (put*: bytes at
 * `p`, returning the end) after the caller made room for the line's bound.
 * Every part that repeats from line to line (the time within a millisecond or
 * second, the host, the remote address, the digest) is a one-entry memo of
 * bytes made by the string code the formats always used; a value a client sent
 * is checked and copied as it goes (log-encode.ts). The text API (jsonLine,
 * combinedLine) writes the same bytes into a buffer of its own.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** HTTP/1.x without building the string each line. */
const httpVersion = (minor: number) => (minor === 1 ? 'HTTP/1.1' : minor === 0 ? 'HTTP/1.0' : `HTTP/1.${minor}`);

const len = (s: string | undefined | null) => (s == null ? 0 : s.length);

/** The line's time in ms: a Date given (tests), else the caller's clock for this turn (`nowMs`, 0: none), else the clock now. */
const timeOf = (when: Date | undefined, nowMs: number) => (when !== undefined ? when.getTime() : nowMs !== 0 ? nowMs : Date.now());

// ---- combined ---------------------------------------------------------------

/** Most bytes the combined line of these values can take (every value escaped at its largest). */
export function combinedBound(remote: string | undefined, head: RequestHead | null): number {
  if (head === null) return 192 + 3 * len(remote);
  const h = head.headers;
  return 192 + 3 * len(remote) + CLF_EXPANSION * (len(head.method) + len(head.target) + len(head.protocol) + len(h.referer) + len(h['user-agent']));
}

const clfRemote = new BytesMemo((remote: string | undefined) => `${remote ?? '-'} - - [`);
/** Keyed by the second (Date.now() / 1000), or by a Date's time given for a test. */
const clfClock = new BytesMemo((second: number) => `${clfTime(new Date(second * 1000))}] "`);
const CLF_AFTER_REQUEST = bytes('" ');
const CLF_NO_REQUEST = bytes('-');
const CLF_OPEN_QUOTE = bytes(' "');
const CLF_BETWEEN = bytes('" "');
const CLF_END = bytes('"\n');

/** Writes a value escaped (escapeLogValue), or `-` for none; the caller writes the quotes. */
function putClfValue(b: Buffer, p: number, v: string | undefined): number {
  if (v !== undefined) return putClfEscaped(b, p, v);
  b[p] = 0x2d;
  return p + 1;
}

/**
 * One line of the combined log format at `p`: `remote - - [time] "request"
 * status bytes "referer" "user-agent"`, the request being `method target
 * protocol` escaped as one value (escapeLogValue: nothing a client sends can
 * end a field or a line).
 */
export function putCombined(b: Buffer, p: number, remote: string | undefined, head: RequestHead | null, status: number, size: number, when: Date | undefined, nowMs = 0): number {
  return putCombinedAt(b, p, remote, head, status, size, timeOf(when, nowMs));
}

/** putCombined at the time `ms` (any value: 0 is the epoch, not 'read the clock'). */
export function putCombinedAt(b: Buffer, p: number, remote: string | undefined, head: RequestHead | null, status: number, size: number, ms: number): number {
  p = clfRemote.put(b, p, remote, undefined);
  p = clfClock.put(b, p, Math.floor(ms / 1000), undefined);
  if (head === null) p = putBytes(b, p, CLF_NO_REQUEST);
  else {
    p = putClfEscaped(b, p, head.method);
    b[p++] = 0x20;
    p = putClfEscaped(b, p, head.target);
    b[p++] = 0x20;
    p = putClfEscaped(b, p, head.protocol ?? httpVersion(head.minor));
  }
  p = putBytes(b, p, CLF_AFTER_REQUEST);
  p = putNumber(b, p, status);
  b[p++] = 0x20;
  if (size === 0) b[p++] = 0x2d;
  else p = putNumber(b, p, size);
  p = putBytes(b, p, CLF_OPEN_QUOTE);
  p = putClfValue(b, p, head?.headers.referer);
  p = putBytes(b, p, CLF_BETWEEN);
  p = putClfValue(b, p, head?.headers['user-agent']);
  return putBytes(b, p, CLF_END);
}

/** One line of the combined log format. */
export function combinedLine(remote: string | undefined, head: RequestHead | null, status: number, size: number, when = new Date()): string {
  const b = Buffer.allocUnsafe(combinedBound(remote, head));
  return b.toString('utf8', 0, putCombined(b, 0, remote, head, status, size, when));
}

// ---- json -------------------------------------------------------------------

/** What the json format records of one response. */
export interface ResponseRecord {
  remote: string | undefined;
  head: RequestHead | null;
  status: number;
  bytes: number;
  /** The site (or mount) that answered, for its digest. */
  site: Site | undefined;
  durationMs: number;
}

export function jsonBound(remote: string | undefined, head: RequestHead | null, site: Site | undefined): number {
  const fields = head === null ? 0 : len(head.headers.host) + len(head.method) + len(head.target) + len(head.protocol) + len(head.headers['user-agent']) + len(head.headers.referer);
  return 384 + JSON_EXPANSION * (fields + len(remote) + len(site?.webroot.meta.dataSha256));
}

/** The normalised Host of the last line, so a run of requests for one host does not look it up (and hash it) each time. */
let lastHostField: string | undefined;
let lastHost: string | null = null;
export function hostOf(head: RequestHead): string | null {
  const field = head.headers.host ?? '';
  if (field !== lastHostField) {
    lastHost = normaliseHost(field) ?? null;
    lastHostField = field;
  }
  return lastHost;
}

/*
 * The json line is written in as few copies as its variable parts allow: the
 * constant text around them is joined into parts memoised by what they hold
 * (BytesMemo), and each part is one copy (putBytes). In the server the json log
 * cost 1.2-1.6 us of JavaScript a line under perf (packages/httpd/README.md),
 * much of it in the copies of eight parts, toISOString once a millisecond and a
 * clock read per line (now the read's clock, `nowMs`). The server writes a line
 * through line-memo.ts, which copies the whole line of the request before when
 * the next is the same (most of the cost gone for a repeated request).
 */

/** `{"time":"YYYY-MM-DDTHH:MM:SS.`, keyed by the second: toISOString without its last four chars (`sssZ`), which putJson writes. */
const jsonSecond = new BytesMemo((second: number) => {
  const iso = new Date(second * 1000).toISOString();
  return `{"time":"${iso.slice(0, iso.length - 4)}`;
});
/** The millisecond's `Z` and the Host and method fields, up to the path's value. */
const jsonHostMethod = new BytesMemo((host: string | null, method: string | undefined) => `Z","host":${jsonText(host)},"method":${jsonText(method)},"path":`);
/** The status, after the query (`null` when the target has none: most requests, one part less). */
const jsonNoQueryStatus = new BytesMemo((status: number) => `,"query":null,"status":${status},"bytes":`);
const jsonStatus = new BytesMemo((status: number) => `,"status":${status},"bytes":`);
const jsonProtocolRemote = new BytesMemo((protocol: string | null, remote: string | undefined) => `,"protocol":${protocol === null ? 'null' : `"${protocol}"`},"remote":${jsonText(remote)},"user_agent":`);
const jsonDigest = new BytesMemo((digest: string | undefined) => `,"digest":${jsonText(digest)}}\n`);
const JSON_QUERY = bytes(',"query":');
const JSON_DURATION = bytes(',"duration":');
const JSON_REFERER = bytes(',"referer":');

/**
 * One line of the json format at `p`: an object per line with time, host,
 * method, path, query, status, bytes, duration (ms), protocol, remote,
 * user_agent, referer and digest (the data digest of the webroot that
 * answered). Every string a client sent is written as it is only when it is
 * printable ASCII without `"` and `\`, else as JSON.stringify writes it, so a
 * request cannot forge a line.
 */
export function putJson(b: Buffer, p: number, remote: string | undefined, head: RequestHead | null, status: number, size: number, site: Site | undefined, durationMs: number, when: Date | undefined, nowMs = 0): number {
  p = putJsonTime(b, p, timeOf(when, nowMs));
  p = putJsonRequest(b, p, head, status, size);
  p = putMillis(b, p, durationMs);
  return putJsonPeer(b, p, remote, head, site);
}

/*
 * putJson's three parts, for the line memo (line-memo.ts), which keeps what the
 * first and the last wrote for one request and copies it for the next identical
 * one: the time to its milliseconds, then the request up to the duration's value,
 * then what follows the duration.
 */

/** `{"time":"YYYY-MM-DDTHH:MM:SS.sss` of `ms` (toISOString's text without its `Z`); its last three bytes are the milliseconds. */
export function putJsonTime(b: Buffer, p: number, ms: number): number {
  const second = Math.floor(ms / 1000);
  p = jsonSecond.put(b, p, second, undefined);
  putMillisDigits(b, p, ms - second * 1000);
  return p + 3;
}

/** The milliseconds of a time, `milli` in [0, 999], as the three digits toISOString writes. */
export function putMillisDigits(b: Buffer, p: number, milli: number): void {
  b[p] = 0x30 + Math.floor(milli / 100);
  b[p + 1] = 0x30 + (Math.floor(milli / 10) % 10);
  b[p + 2] = 0x30 + (milli % 10);
}

/** `Z","host":…,"method":…,"path":…,"query":…,"status":…,"bytes":…,"duration":`, up to the duration's value. */
export function putJsonRequest(b: Buffer, p: number, head: RequestHead | null, status: number, size: number): number {
  const target = head?.target;
  const q = target === undefined ? -1 : target.indexOf('?');
  p = jsonHostMethod.put(b, p, head === null ? null : hostOf(head), head?.method);
  p = putJsonString(b, p, target, 0, q === -1 ? len(target) : q);
  if (q === -1) p = jsonNoQueryStatus.put(b, p, status, undefined);
  else {
    p = putBytes(b, p, JSON_QUERY);
    p = putJsonString(b, p, target, q + 1, target!.length);
    p = jsonStatus.put(b, p, status, undefined);
  }
  p = putNumber(b, p, size);
  return putBytes(b, p, JSON_DURATION);
}

/** `,"protocol":…,"remote":…,"user_agent":…,"referer":…,"digest":…}` and the line's end, after the duration's value. */
export function putJsonPeer(b: Buffer, p: number, remote: string | undefined, head: RequestHead | null, site: Site | undefined): number {
  p = jsonProtocolRemote.put(b, p, head === null ? null : (head.protocol ?? httpVersion(head.minor)), remote);
  p = putJsonString(b, p, head?.headers['user-agent']);
  p = putBytes(b, p, JSON_REFERER);
  p = putJsonString(b, p, head?.headers.referer);
  return jsonDigest.put(b, p, site?.webroot.meta.dataSha256, undefined);
}

/** One line of the json format, as text (tests, tools; the server writes lines straight into its buffers). */
export function jsonLine(r: ResponseRecord, when?: Date): string {
  const b = Buffer.allocUnsafe(jsonBound(r.remote, r.head, r.site));
  return b.toString('utf8', 0, putJson(b, 0, r.remote, r.head, r.status, r.bytes, r.site, r.durationMs, when));
}
