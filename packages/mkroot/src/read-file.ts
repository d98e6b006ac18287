import fs from 'node:fs';
import { MkrootError } from './errors.js';

function changed(abs: string): MkrootError {
  return new MkrootError('MKROOT_FILE_CHANGED', `${abs}: changed while it was being packed; pack again once the source tree is still`);
}

function unreadable(abs: string, err: unknown): MkrootError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new MkrootError('MKROOT_UNREADABLE_FILE', `${abs}: cannot read (${code}); fix its permissions or remove it from the tree`, { cause: err });
}

/**
 * Opens a source file and reads it in chunks through `onChunk`, checking that
 * it did not change meanwhile (size and mtime before and after, and the byte
 * count). Returns the mtime it had.
 */
export function readSourceFile(
  abs: string,
  chunkSize: number,
  onChunk: (chunk: Buffer, first: boolean) => void,
): { size: number; mtimeMs: number } {
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (err) {
    throw unreadable(abs, err);
  }
  try {
    const before = fs.fstatSync(fd);
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, before.size + 1)));
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, total);
      } catch (err) {
        throw unreadable(abs, err);
      }
      if (n === 0) break;
      onChunk(buf.subarray(0, n), total === 0);
      total += n;
      if (total > before.size) throw changed(abs);
      // A regular file reads short only at its end: no second read() to learn so (one syscall per small file).
      if (n < buf.length) break;
    }
    const after = fs.fstatSync(fd);
    if (total !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw changed(abs);
    return { size: total, mtimeMs: before.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a whole (small) source file into one new buffer, with the same checks. */
export function readSmallSourceFile(abs: string, expectedSize: number): { bytes: Buffer; mtimeMs: number } {
  const parts: Buffer[] = [];
  const { mtimeMs } = readSourceFile(abs, expectedSize + 1, (chunk) => parts.push(Buffer.from(chunk)));
  const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return { bytes, mtimeMs };
}
