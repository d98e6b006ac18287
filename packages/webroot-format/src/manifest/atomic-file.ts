import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory, writeAllAt } from '../fs-sync.js';
import { forgetTemporary, removeTemporary, temporaryPathFor } from '../writer/temp-files.js';

export { syncDirectory, writeAllAt };

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

/** replaceFileAtomically with fixed content. */
export function writeFileAtomically(dest: string, data: Buffer | string, mode = 0o644): Promise<void> {
  return replaceFileAtomically(dest, (fd) => writeAllAt(fd, typeof data === 'string' ? Buffer.from(data) : data, 0), mode);
}

/** replaceFileAtomically with a copy of `src`. */
export function copyFileAtomically(src: string, dest: string, mode = 0o644): Promise<void> {
  return replaceFileAtomically(
    dest,
    async (fd) => {
      let at = 0;
      for await (const chunk of fs.createReadStream(src, { highWaterMark: 1024 * 1024 })) {
        writeAllAt(fd, chunk as Buffer, at);
        at += (chunk as Buffer).length;
      }
    },
    mode,
  );
}
