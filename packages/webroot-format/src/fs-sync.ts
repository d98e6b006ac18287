import fs from 'node:fs';

/** Writes all of `buf` at `position` (positioned writes may be short). */
export function writeAllAt(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/**
 * Copies `length` bytes of the file from `src` to `dst` (absolute positions), in chunks of up to `chunk`
 * bytes, in the order that is safe when the two ranges overlap: front first when moving back, from the end
 * when moving forward. Throws if the file ends before `src + length`.
 */
export function copyWithinFile(fd: number, src: number, dst: number, length: number, chunk: number): void {
  const buf = Buffer.allocUnsafe(Math.min(chunk, Math.max(length, 1)));
  const copy = (at: number, n: number) => {
    let got = 0;
    while (got < n) {
      const r = fs.readSync(fd, buf, got, n - got, src + at + got);
      if (r === 0) throw new Error(`copyWithinFile: the file ends at ${src + at + got}, inside the ${length} bytes at ${src}`);
      got += r;
    }
    writeAllAt(fd, buf.subarray(0, n), dst + at);
  };
  if (dst < src) {
    for (let at = 0; at < length; at += buf.length) copy(at, Math.min(buf.length, length - at));
  } else {
    for (let end = length; end > 0; end -= buf.length) {
      const n = Math.min(buf.length, end);
      copy(end - n, n);
    }
  }
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
