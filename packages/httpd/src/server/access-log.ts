import fs from 'node:fs';
import type net from 'node:net';
import type { RequestHead } from '../http/parse-request.js';

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

function quoted(v: string | undefined): string {
  return v === undefined ? '"-"' : `"${escapeLogValue(v)}"`;
}

/** One line of the combined log format. */
export function combinedLine(remote: string | undefined, head: RequestHead | null, status: number, bytes: number, when = new Date()): string {
  const request = head ? `${head.method} ${head.target} HTTP/1.${head.minor}` : '-';
  return `${remote ?? '-'} - - [${clfTime(when)}] ${quoted(request)} ${status} ${bytes === 0 ? '-' : bytes} ${quoted(head?.headers.referer)} ${quoted(head?.headers['user-agent'])}\n`;
}

/** An access logger writing to a file (appending) or to standard output for '-'. */
export function openAccessLog(target: string): { write: (socket: net.Socket, head: RequestHead | null, status: number, bytes: number) => void; close: () => void } {
  const out = target === '-' ? process.stdout : fs.createWriteStream(target, { flags: 'a' });
  return {
    write: (socket, head, status, bytes) => {
      out.write(combinedLine(socket.remoteAddress, head, status, bytes));
    },
    close: () => {
      if (out !== process.stdout) (out as fs.WriteStream).end();
    },
  };
}
