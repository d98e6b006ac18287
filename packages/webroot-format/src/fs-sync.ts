import fs from 'node:fs';

/** Writes all of `buf` at `position` (positioned writes may be short). */
export function writeAllAt(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/** fsync a directory so a rename in it survives a crash; some filesystems refuse, and the rename is atomic anyway. */
export function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // see above
  }
}
