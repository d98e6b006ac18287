import fs from 'node:fs';
import type net from 'node:net';
import type { RequestHead } from '../http/parse-request.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function clfTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function quoted(v: string | undefined): string {
  return v === undefined ? '"-"' : `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, '')}"`;
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
