import fs from 'node:fs';
import path from 'node:path';

/** Writes `pid` to `file` atomically (a temporary file in the same directory, then rename), mode 0644 like nginx's. */
export function writePidFile(file: string, pid = process.pid): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${pid}.tmp`);
  fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** The PID in `file`, or undefined when it is missing or holds no PID. */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d+)\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Removes `file` if it still names `pid` (after an upgrade it names the new primary, which owns it then). */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPidFile(file) !== pid) return;
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}
