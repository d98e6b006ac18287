import fs from 'node:fs';
import { Readable } from 'node:stream';
import { WebrootError } from '../errors.js';

export interface RangeStreamOptions {
  /** Bytes per chunk (and the stream's read-ahead); default 64 KiB. */
  chunkSize?: number;
  /**
   * Where chunk buffers come from (at least `chunkSize` bytes each). A caller
   * that knows when a chunk has been consumed (a socket's write callback) can
   * hand out reused buffers and take them back, instead of a fresh allocation
   * per chunk: fs.ReadStream's fresh buffers cost a page fault per 4 KiB on
   * first touch, most of a large response's time here.
   */
  allocate?: (size: number) => Buffer;
}

/**
 * A readable stream of the absolute byte range [start, end) of a descriptor
 * it does not own: positioned thread-pool reads, one chunk ahead of the
 * consumer, never closing the descriptor (fs.ReadStream closes its fd on
 * destroy even with autoClose: false). A range that ends early (the file
 * shrank under us) is an error, never a silently short stream.
 */
export class RangeReadStream extends Readable {
  private pos: number;
  private readonly chunkSize: number;
  private readonly allocate: (size: number) => Buffer;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly end: number,
    private readonly file: string,
    options: RangeStreamOptions = {},
  ) {
    const chunkSize = options.chunkSize ?? 64 * 1024;
    super({ highWaterMark: chunkSize });
    this.pos = start;
    this.chunkSize = chunkSize;
    this.allocate = options.allocate ?? ((size) => Buffer.allocUnsafe(size));
  }

  override _read(): void {
    const want = Math.min(this.chunkSize, this.end - this.pos);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = this.allocate(want);
    this.fill(buf, 0, want);
  }

  private fill(buf: Buffer, done: number, want: number): void {
    fs.read(this.fd, buf, done, want - done, this.pos + done, (err, n) => {
      if (this.destroyed) return;
      if (err) return void this.destroy(err);
      if (n === 0) {
        return void this.destroy(new WebrootError('WEBROOT_TRUNCATED', `${this.file}: file ended early at offset ${this.pos + done} (changed on disk?)`, this.file));
      }
      if (done + n < want) return this.fill(buf, done + n, want);
      this.pos += want;
      this.push(want === buf.length ? buf : buf.subarray(0, want));
    });
  }
}
