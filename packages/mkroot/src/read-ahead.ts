import { Worker } from 'node:worker_threads';
import { READ_STATUS, type BatchRequest, type BatchResult } from './read-ahead-protocol.js';
import { changedError, unreadableError } from './read-file.js';

/** Files per message: a message per file would cost more than its read. */
const BATCH = 128;

export type ReadAheadOutcome =
  | { kind: 'whole'; bytes: Buffer; hash: Buffer; size: number; mtimeMs: number }
  /** Larger than the limit: the caller reads it itself. */
  | { kind: 'large' };

export interface Ticket {
  readonly batch: number;
  readonly index: number;
  readonly absPath: string;
}

interface Pending {
  result?: BatchResult;
  error?: Error;
  waiters: (() => void)[];
}

/**
 * Reads and hashes small source files on a second thread, ahead of the packer,
 * in batches, so that open/fstat/read/close and SHA-256 of file N+1 overlap
 * with storing file N (SQLite rows, the data region) on the main thread.
 * Outcomes are taken in the order files were queued; a file that failed gives
 * the same MkrootError the synchronous read (readSource) gives.
 */
export class ReadAhead {
  /** Batch b goes to thread b % threads: open/read/close of small files is syscall-bound, and threads overlap it. */
  private readonly workers: Worker[] = [];
  private readonly batches = new Map<number, Pending>();
  private open: string[] = [];
  private nextBatch = 0;
  private failure: Error | undefined;

  constructor(
    private readonly limit: number,
    threads = 1,
  ) {
    for (let i = 0; i < Math.max(1, threads); i++) {
      const worker = new Worker(new URL('./read-ahead-worker.js', import.meta.url));
      worker.on('message', (r: BatchResult) => this.settle(r.batch, (p) => (p.result = r)));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`the read-ahead thread exited with code ${code}`));
      });
      this.workers.push(worker);
    }
  }

  /** Queues a file; its outcome is take(ticket). */
  queue(absPath: string): Ticket {
    const ticket = { batch: this.nextBatch, index: this.open.length, absPath };
    this.open.push(absPath);
    if (this.open.length === BATCH) this.flush();
    return ticket;
  }

  /** Sends the files queued so far. */
  flush(): void {
    if (this.open.length === 0) return;
    const req: BatchRequest = { batch: this.nextBatch, paths: this.open, limit: this.limit };
    this.batches.set(this.nextBatch, { waiters: [], error: this.failure });
    if (this.failure === undefined) this.workers[this.nextBatch % this.workers.length]!.postMessage(req);
    this.nextBatch++;
    this.open = [];
  }

  /** The outcome of a queued file (its batch is sent if it was not yet). */
  async take(ticket: Ticket): Promise<ReadAheadOutcome> {
    if (ticket.batch === this.nextBatch) this.flush();
    const pending = this.batches.get(ticket.batch);
    if (pending === undefined) throw new Error('internal: a read-ahead ticket was taken twice or out of order');
    if (pending.result === undefined && pending.error === undefined) await new Promise<void>((resolve) => pending.waiters.push(resolve));
    if (pending.error !== undefined) throw pending.error;
    const r = pending.result!;
    const meta = new Float64Array(r.meta, ticket.index * 5 * 8, 5);
    // The last file of its batch: drop the batch (its bytes live on in the views handed out).
    if (ticket.index === r.errors.length - 1) this.batches.delete(ticket.batch);
    const status = meta[0];
    if (status === READ_STATUS.large) return { kind: 'large' };
    if (status === READ_STATUS.changed) throw changedError(ticket.absPath);
    if (status === READ_STATUS.unreadable) {
      const code = r.errors[ticket.index]!;
      throw unreadableError(ticket.absPath, Object.assign(new Error(`${code}: ${ticket.absPath}`), { code }));
    }
    return {
      kind: 'whole',
      bytes: Buffer.from(r.data, meta[1]!, meta[2]!),
      hash: Buffer.from(r.hashes, ticket.index * 32, 32),
      size: meta[3]!,
      mtimeMs: meta[4]!,
    };
  }

  /** Stops the thread (outcomes not taken are dropped). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(batch: number, apply: (p: Pending) => void): void {
    const pending = this.batches.get(batch);
    if (pending === undefined) return;
    apply(pending);
    for (const wake of pending.waiters.splice(0)) wake();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const batch of this.batches.keys()) this.settle(batch, (p) => (p.error ??= this.failure));
  }
}
