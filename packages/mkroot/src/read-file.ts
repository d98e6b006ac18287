import fs from 'node:fs';
import { MkrootError } from './errors.js';

export function changedError(abs: string): MkrootError {
  return new MkrootError('MKROOT_FILE_CHANGED', `${abs}: changed while it was being packed; pack again once the source tree is still`);
}

export function unreadableError(abs: string, err: unknown): MkrootError {
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
  return withSourceFile(abs, (fd, size) => streamFrom(abs, fd, size, Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, size + 1))), onChunk));
}

export type SourceRead =
  | { kind: 'whole'; bytes: Buffer; size: number; mtimeMs: number }
  | { kind: 'streamed'; size: number; mtimeMs: number };

/**
 * Reads a source file whole when its size (from the open descriptor) is at
 * most `wholeUpTo`, else in `chunkSize` pieces through `onChunk`, with the
 * checks of readSourceFile. The caller needs no stat() of its own: packing a
 * million files, each stat() of the path cost a syscall and a Stats object.
 */
export function readSource(abs: string, wholeUpTo: number, chunkSize: number, onChunk: (chunk: Buffer, first: boolean) => void): SourceRead {
  let bytes: Buffer | undefined;
  const { size, mtimeMs } = withSourceFile(abs, (fd, expected) => {
    if (expected > wholeUpTo) return streamFrom(abs, fd, expected, Buffer.allocUnsafe(chunkSize), onChunk);
    // One spare byte shows a file that grew since the fstat; the bytes are a view of this buffer, no copy.
    const buf = Buffer.allocUnsafe(expected + 1);
    let total = 0;
    for (;;) {
      const want = buf.length - total;
      const n = readAt(abs, fd, buf, total, want, total);
      total += n;
      // As in streamFrom: a short read is the end of a regular file.
      if (n < want || total === buf.length) break;
    }
    if (total > expected) throw changedError(abs);
    bytes = buf.subarray(0, total);
    return total;
  });
  return bytes ? { kind: 'whole', bytes, size, mtimeMs } : { kind: 'streamed', size, mtimeMs };
}

/** Opens `abs`, lets `read` take its bytes (returning how many), and checks size and mtime before and after. */
function withSourceFile(abs: string, read: (fd: number, size: number) => number): { size: number; mtimeMs: number } {
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (err) {
    throw unreadableError(abs, err);
  }
  try {
    const before = fs.fstatSync(fd);
    const total = read(fd, before.size);
    const after = fs.fstatSync(fd);
    if (total !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw changedError(abs);
    return { size: total, mtimeMs: before.mtimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(abs: string, fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  try {
    return fs.readSync(fd, buf, offset, length, position);
  } catch (err) {
    throw unreadableError(abs, err);
  }
}

/** Reads `fd` to its end through `buf`, chunk by chunk; returns the byte count. */
function streamFrom(abs: string, fd: number, size: number, buf: Buffer, onChunk: (chunk: Buffer, first: boolean) => void): number {
  let total = 0;
  for (;;) {
    const n = readAt(abs, fd, buf, 0, buf.length, total);
    if (n === 0) break;
    onChunk(buf.subarray(0, n), total === 0);
    total += n;
    if (total > size) throw changedError(abs);
    // A regular file reads short only at its end: no second read() to learn so (one syscall per small file).
    if (n < buf.length) break;
  }
  return total;
}
