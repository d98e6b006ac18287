import fs from 'node:fs';
import path from 'node:path';
import { forgetTemporary, removeTemporary, temporaryPathFor } from '../writer/temp-files.js';

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

/**
 * Writes `dest` so that readers see the old file or the whole new one: a
 * temporary name in the same directory, fsync, rename, fsync the directory.
 * `fill` writes the content to the open descriptor. On any error the
 * temporary file is removed and `dest` is as it was.
 */
export async function replaceFileAtomically(dest: string, fill: (fd: number) => void | Promise<void>, mode = 0o644): Promise<void> {
  const temp = temporaryPathFor(dest, 'tmp');
  try {
    const fd = fs.openSync(temp, 'wx', mode);
    try {
      await fill(fd);
      fs.fchmodSync(fd, mode); // the umask may have narrowed the mode given to open
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, dest);
    forgetTemporary(temp);
  } catch (err) {
    removeTemporary(temp);
    throw err;
  }
  syncDirectory(path.dirname(dest));
}

export function writeAllSync(fd: number, data: Buffer | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
}

/** replaceFileAtomically with fixed content. */
export function writeFileAtomically(dest: string, data: Buffer | string, mode = 0o644): Promise<void> {
  return replaceFileAtomically(dest, (fd) => writeAllSync(fd, data), mode);
}

/** replaceFileAtomically with a copy of `src`. */
export function copyFileAtomically(src: string, dest: string, mode = 0o644): Promise<void> {
  return replaceFileAtomically(
    dest,
    async (fd) => {
      for await (const chunk of fs.createReadStream(src, { highWaterMark: 1024 * 1024 })) writeAllSync(fd, chunk as Buffer);
    },
    mode,
  );
}
