/**
 * The access-log formats as strings, exactly as httpd wrote them up to commit
 * 30ec1e5 (packages/httpd/src/server/access-log.ts before lines were written
 * straight into buffers): the reference the buffer writers must match byte for
 * byte (test/log-formats.test.ts, test/log-file.test.ts).
 */
import { normaliseHost } from '../../src/http/host.js';
import type { RequestHead } from '../../src/http/parse-request.js';
// The record's type is the live one: only the code that turns it into text is frozen here.
import type { ResponseRecord } from '../../src/server/log-formats.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Escapes a logged value as nginx does (ngx_http_log_escape, `escape=default`):
 * `"`, `\`, controls and every byte outside printable ASCII become `\xHH`. Header
 * values are held as latin1 text, one char per byte received, so an 8-bit byte in
 * User-Agent or Referer is logged as the byte it was, not as mojibake, and nothing
 * a client sends can break a line or a field of the log.
 */
function escapeLogValue(v: string): string {
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

function quoted(v: string | undefined): string {
  return v === undefined ? '"-"' : `"${escapeLogValue(v)}"`;
}

/** One line of the combined log format. */
export function combinedLineV1(remote: string | undefined, head: RequestHead | null, status: number, bytes: number, when = new Date()): string {
  const request = head ? `${head.method} ${head.target} ${head.protocol ?? `HTTP/1.${head.minor}`}` : '-';
  return `${remote ?? '-'} - - [${clfTime(when)}] ${quoted(request)} ${status} ${bytes === 0 ? '-' : bytes} ${quoted(head?.headers.referer)} ${quoted(head?.headers['user-agent'])}\n`;
}


/** Printable ASCII without '"' and '\\': written between quotes as it is. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const str = (v: string | undefined | null) => (v === undefined || v === null ? 'null' : PLAIN.test(v) ? `"${v}"` : JSON.stringify(v));

/** toISOString once per millisecond, not once per line. */
let isoMs = -1;
let isoText = '';
function isoTime(when: Date | undefined): string {
  if (when !== undefined) return when.toISOString();
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * One line of the json format: an object per line with time, host, method,
 * path, query, status, bytes, duration (ms), protocol, remote, user_agent,
 * referer and digest (the data digest of the webroot that answered).
 * Built as text (JSON.stringify of an object costs ~2x here); every string a
 * client sent goes through JSON.stringify unless it is plain printable ASCII,
 * so a request cannot forge a line.
 */
export function jsonLineV1(r: ResponseRecord, when?: Date): string {
  const head = r.head;
  const target = head?.target;
  const q = target === undefined ? -1 : target.indexOf('?');
  const host = head ? (normaliseHost(head.headers.host ?? '') ?? null) : null;
  return (
    `{"time":"${isoTime(when)}","host":${str(host)},"method":${str(head?.method)},` +
    `"path":${str(target === undefined ? undefined : q === -1 ? target : target.slice(0, q))},"query":${str(target === undefined || q === -1 ? undefined : target.slice(q + 1))},` +
    `"status":${r.status},"bytes":${r.bytes},"duration":${Math.round(r.durationMs * 1000) / 1000},"protocol":${head ? `"${head.protocol ?? `HTTP/1.${head.minor}`}"` : 'null'},` +
    `"remote":${str(r.remote)},"user_agent":${str(head?.headers['user-agent'])},"referer":${str(head?.headers.referer)},"digest":${str(r.site?.webroot.meta.dataSha256)}}\n`
  );
}

