import fs from 'node:fs';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function clfTime(d) {
    const p = (n) => String(n).padStart(2, '0');
    return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
function quoted(v) {
    return v === undefined ? '"-"' : `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, '')}"`;
}
/** One line of the combined log format. */
export function combinedLine(remote, head, status, bytes, when = new Date()) {
    const request = head ? `${head.method} ${head.target} HTTP/1.${head.minor}` : '-';
    return `${remote ?? '-'} - - [${clfTime(when)}] ${quoted(request)} ${status} ${bytes === 0 ? '-' : bytes} ${quoted(head?.headers.referer)} ${quoted(head?.headers['user-agent'])}\n`;
}
/** An access logger writing to a file (appending) or to standard output for '-'. */
export function openAccessLog(target) {
    const out = target === '-' ? process.stdout : fs.createWriteStream(target, { flags: 'a' });
    return {
        write: (socket, head, status, bytes) => {
            out.write(combinedLine(socket.remoteAddress, head, status, bytes));
        },
        close: () => {
            if (out !== process.stdout)
                out.end();
        },
    };
}
//# sourceMappingURL=access-log.js.map