import fs from 'node:fs';

/** Queued bytes beyond which new batches are dropped (and reported) rather than grow memory without bound on a stuck disk. */
const MAX_QUEUED = 64 * 1024 * 1024;
/**
 * Lines are written into a buffer of this many bytes, handed to the file when the next line does not fit or FLUSH_MS
 * after its first line, whichever comes first (nginx's `access_log ... buffer= flush=`). A write per turn of the event
 * loop cost a thread-pool round trip and a syscall for every few responses: with the json log on, keep-alive 1 KB ran
 * at 0.70 of the rate without it (bench/access-log-ab.sh, one core), most of the difference system time.
 */
export const BUFFER_BYTES = 64 * 1024;
const FLUSH_MS = 100;
/** Spare buffers kept for reuse: one being written, one filling, and a few while the disk is slow. */
const POOL = 4;

type OnError = (path: string, err: unknown) => void;

/**
 * One open log file (or standard output) and its queue of filled buffers, written
 * in order with fs.write on the thread pool, one write in flight at a time (writes
 * to an O_APPEND descriptor that ran at once could land in any order).
 * `end()` writes what is queued, then closes the descriptor.
 */
class Sink {
  private fd: number | undefined;
  /** The open failed (reported): batches are dropped until a reopen makes a new sink. */
  private dead = false;
  private readonly queue: { buf: Buffer; off: number; len: number }[] = [];
  private queued = 0;
  private writing = false;
  /** Reporting once per run of failures, not once per batch. */
  private failing = false;
  private ended: (() => void)[] | undefined;

  constructor(
    private readonly path: string,
    private readonly onError: OnError,
    private readonly release: (buf: Buffer) => void,
  ) {
    if (path === '-') return;
    fs.open(path, 'a', 0o640, (err, fd) => {
      if (err) {
        this.dead = true;
        this.onError(path, err);
        for (const item of this.queue.splice(0)) this.release(item.buf);
        this.queued = 0;
      } else this.fd = fd;
      this.next();
    });
  }

  push(buf: Buffer, len: number): void {
    if (this.path === '-') {
      process.stdout.write(Buffer.from(buf.subarray(0, len)));
      return this.release(buf);
    }
    if (this.dead || this.ended !== undefined) return this.release(buf);
    if (this.queued > MAX_QUEUED) {
      this.fail(new Error(`more than ${MAX_QUEUED} bytes waiting for the disk; dropping access log lines until it catches up`));
      return this.release(buf);
    }
    this.queue.push({ buf, off: 0, len });
    this.queued += len;
    this.next();
  }

  private fail(err: unknown): void {
    if (!this.failing) this.onError(this.path, err);
    this.failing = true;
  }

  private next(): void {
    if (this.writing) return;
    const item = this.queue[0];
    if (item === undefined || this.fd === undefined) {
      if (this.ended !== undefined && (this.fd !== undefined || this.dead)) this.finish();
      return;
    }
    this.writing = true;
    fs.write(this.fd, item.buf, item.off, item.len - item.off, null, (err, written) => {
      this.writing = false;
      if (err || written === 0) {
        this.fail(err ?? new Error('the file took no bytes'));
        item.off = item.len; // that batch is lost; the next may succeed (a full disk freed)
      } else {
        this.failing = false;
        item.off += written; // a short write: the rest goes next
      }
      if (item.off >= item.len) {
        this.queue.shift();
        this.queued -= item.len;
        this.release(item.buf);
      }
      this.next();
    });
  }

  private finish(): void {
    const waiting = this.ended!;
    this.ended = [];
    const fd = this.fd;
    this.fd = undefined;
    this.dead = true;
    const done = () => {
      for (const resolve of waiting) resolve();
    };
    if (fd === undefined) done();
    else fs.close(fd, done);
  }

  /** Resolves once every queued batch is written and the file is closed. */
  end(): Promise<void> {
    if (this.path === '-') return Promise.resolve();
    return new Promise((resolve) => {
      if (this.ended !== undefined && this.fd === undefined && this.dead && this.queue.length === 0) return resolve();
      (this.ended ??= []).push(resolve);
      this.next();
    });
  }
}

/**
 * An append-only log file written without blocking the event loop on disk IO.
 * A line is written into `buf` at `pos` by its format (access-log.ts): `room(n)`
 * makes room for n bytes, `commit(end)` takes them. Full buffers go to the file
 * with one fs.write each (the thread pool: a response never waits for a disk)
 * and come back to a small pool when written, so a busy log allocates nothing.
 * `reopen()` hands what is buffered to the old file, then opens the path again:
 * after logrotate renames the file, lines go to a new one and none are lost.
 */
export class LogFile {
  buf: Buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  pos = 0;
  private readonly free: Buffer[] = [];
  private sink: Sink;
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  private readonly release = (buf: Buffer) => {
    if (buf.length === BUFFER_BYTES && this.free.length < POOL) this.free.push(buf);
  };

  constructor(
    readonly path: string,
    private readonly onError: OnError,
  ) {
    this.sink = new Sink(path, onError, this.release);
  }

  /** The buffer to write the next line into at `pos`, with at least `bytes` free after it. */
  room(bytes: number): Buffer {
    if (this.pos + bytes > this.buf.length) {
      this.flush();
      // A line larger than a buffer (a huge escaped header) gets a buffer of its own.
      if (bytes > this.buf.length) {
        this.release(this.buf);
        this.buf = Buffer.allocUnsafeSlow(bytes);
      }
    }
    return this.buf;
  }

  /** The line written into `buf` ends at `end`. */
  commit(end: number): void {
    this.pos = end;
    if (this.armed) return;
    this.armed = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, FLUSH_MS);
      // A drain flushes (close()); the timer alone must not keep the process alive.
      this.timer.unref();
    } else this.timer.refresh();
  }

  private readonly onTimer = () => {
    this.armed = false;
    this.flush();
  };

  private flush(): void {
    if (this.pos === 0) return;
    const full = this.buf;
    const len = this.pos;
    this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
    this.pos = 0;
    this.sink.push(full, len);
  }

  /** Flushes into the current file, closes it once written, and opens the path anew. */
  reopen(): void {
    this.flush();
    if (this.path === '-') return;
    const old = this.sink;
    this.sink = new Sink(this.path, this.onError, this.release);
    void old.end();
  }

  close(): Promise<void> {
    this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armed = true; // no timer after close
    return this.sink.end();
  }
}
