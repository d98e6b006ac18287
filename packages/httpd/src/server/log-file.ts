import fs from 'node:fs';

/** Queued bytes beyond which new lines are dropped (and counted) rather than grow memory without bound on a stuck disk. */
const MAX_QUEUED = 64 * 1024 * 1024;

/**
 * An append-only log file written without blocking the event loop on disk IO:
 * lines are joined and handed to a WriteStream once per turn of the event loop
 * (its writes run on the thread pool), so a response never waits for a disk.
 * `reopen()` hands what is queued to the old file, then opens the path again:
 * after logrotate renames the file, lines go to a new one and none are lost.
 */
export class LogFile {
  private pending: string[] = [];
  private scheduled = false;
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
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
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
