import fs from 'node:fs';

/** Queued bytes beyond which new lines are dropped (and counted) rather than grow memory without bound on a stuck disk. */
const MAX_QUEUED = 64 * 1024 * 1024;
/**
 * Lines are handed to the file in batches of this many bytes, or after FLUSH_MS, whichever comes first (nginx's
 * `access_log ... buffer= flush=`). A write per turn of the event loop cost a thread-pool round trip and a
 * syscall for every few responses: with the json log on, keep-alive 1 KB ran at 0.70 of the rate without it
 * (bench/access-log-ab.sh, one core), most of the difference system time.
 */
const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 100;

/**
 * An append-only log file written without blocking the event loop on disk IO:
 * lines are joined and handed to a WriteStream in batches (FLUSH_BYTES, or
 * FLUSH_MS after the first line; its writes run on the thread pool), so a
 * response never waits for a disk.
 * `reopen()` hands what is queued to the old file, then opens the path again:
 * after logrotate renames the file, lines go to a new one and none are lost.
 */
export class LogFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private out: NodeJS.WritableStream;
  private dropped = 0;

  constructor(
    readonly path: string,
    private readonly onError: (path: string, err: unknown) => void,
  ) {
    this.out = this.open();
  }

  private open(): NodeJS.WritableStream {
    if (this.path === '-') return process.stdout;
    const stream = fs.createWriteStream(this.path, { flags: 'a', mode: 0o640 });
    stream.on('error', (err) => this.onError(this.path, err));
    return stream;
  }

  write(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      // A drain flushes (close()); the timer alone must not keep the process alive.
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const queued = (this.out as fs.WriteStream).writableLength ?? 0;
    if (queued > MAX_QUEUED) {
      if (this.dropped === 0) this.onError(this.path, new Error(`more than ${MAX_QUEUED} bytes waiting for the disk; dropping access log lines until it catches up`));
      this.dropped++;
      return;
    }
    this.dropped = 0;
    this.out.write(chunk);
  }

  /** Flushes into the current file, closes it once written, and opens the path anew. */
  reopen(): void {
    this.flush();
    if (this.out === process.stdout) return;
    const old = this.out as fs.WriteStream;
    this.out = this.open();
    old.end();
  }

  close(): Promise<void> {
    this.flush();
    if (this.out === process.stdout) return Promise.resolve();
    const out = this.out as fs.WriteStream;
    return new Promise((resolve) => out.end(() => resolve()));
  }
}
