import os from 'node:os';
import { disableSendfile, errnoName, isUnsupported, type FileRange } from '../io/sendfile.js';
import type { Wire } from './wire.js';

/** What the remainder writes when the kernel's socket buffer is full: one chunk, then sendfile again. */
export const REMAINDER_CHUNK = 64 * 1024;

const ESPIPE = os.constants.errno.ESPIPE;

export interface FileSendJob {
  wire: Wire;
  /** The webroot file's descriptor. */
  fd: number;
  range: FileRange;
  /** The response head (latin1). */
  head: string;
  /** Bytes [from, to) of the body (offsets into the range), for the chunks written through libuv. */
  readPart(from: number, to: number): Buffer | Promise<Buffer>;
  /** A pending send ended (never called before startFileSend returned): `ok` false when the connection closed or failed first (it is destroyed then). */
  done(ok: boolean): void;
  /** A failure worth a log line (a read of the remainder failed, the file ended early). */
  failed(reason: string): void;
}

export type FileSendStart =
  /** sendfile cannot be used now (nothing was written): take the usual path. */
  | { kind: 'unavailable' }
  /** The kernel took the whole response. */
  | { kind: 'sent' }
  /** The connection failed (the client is gone): it has been destroyed. */
  | { kind: 'failed' }
  /** Part is with the kernel; the rest follows, and `done` will be called (unless `abort` is, first). */
  | { kind: 'pending'; abort: () => void };

/**
 * A response head and one byte range of the webroot file sent with sendfile(2).
 *
 * The head and the first body bytes go in one call of the addon (send with MSG_MORE, then sendfile), made
 * only while libuv has no write queued on the handle, so nothing can overtake the head or be overtaken. When
 * the socket buffer fills (the kernel takes only part), the rest goes in turns: one chunk of the body
 * (REMAINDER_CHUNK, from the object cache or the IO mode's read) written through libuv, whose completion
 * means the socket has room again and libuv's queue is empty, then sendfile again. That waits for
 * writability in libuv's own poll of the descriptor (the addon adds no poller) and never blocks the event
 * loop; at most one chunk is in user memory per response.
 */
export function startFileSend(job: FileSendJob): FileSendStart {
  const { wire, fd, range, head } = job;
  const total = head.length + range.length;
  const first = wire.sendFile?.(fd, range.offset, range.length, head);
  if (first === undefined) return { kind: 'unavailable' };
  if (first < 0) {
    if (isUnsupported(first)) {
      disableSendfile(`sendfile(2) failed with ${errnoName(first)}`);
      return { kind: 'unavailable' };
    }
    // The file is shorter than the range (damaged in place): nothing was sent, so the usual path answers
    // (its read fails before the response starts: a 500, logged as send-failed).
    if (first === -ESPIPE) return { kind: 'unavailable' };
    wire.destroy();
    return { kind: 'failed' };
  }
  if (first === total) return { kind: 'sent' };

  let taken = first;
  let over = false;
  // While the first turn runs inside this call, the outcome is returned, not reported through `done`.
  let inCall = true;
  let outcome = false;
  const end = (ok: boolean) => {
    if (over) return;
    over = true;
    if (!ok && !wire.destroyed) wire.destroy();
    if (inCall) outcome = ok;
    else job.done(ok);
  };
  const fail = (reason: string) => {
    if (over) return;
    job.failed(reason);
    end(false);
  };
  // Each turn runs until the kernel is full, then leaves one write queued in libuv whose completion calls it again.
  const turn = (): void => {
    while (!over) {
      if (wire.destroyed) return end(false);
      if (taken >= total) return end(true);
      if (taken < head.length) {
        // The head did not fit (a tiny send buffer): its rest through libuv first.
        const rest = head.slice(taken);
        taken = head.length;
        if (!wire.write(rest, turn)) return;
        continue;
      }
      const at = taken - head.length;
      const want = range.length - at;
      let got = wire.sendFile?.(fd, range.offset + at, want);
      if (got !== undefined && got < 0) {
        if (isUnsupported(got)) {
          disableSendfile(`sendfile(2) failed with ${errnoName(got)}`);
          got = 0;
        } else if (got === -ESPIPE) return fail(`the webroot file ended before byte ${range.offset + at + want} (changed on disk?)`);
        else return end(false);
      }
      if (got !== undefined && got > 0) {
        taken += got;
        if (got === want) continue;
      }
      // The socket is full (or sendfile is off now): one chunk through libuv.
      const from = taken - head.length;
      const to = Math.min(range.length, from + REMAINDER_CHUNK);
      let part: Buffer | Promise<Buffer>;
      try {
        part = job.readPart(from, to);
      } catch (err) {
        return fail(`reading the rest of the body failed: ${(err as Error).message}`);
      }
      if (part instanceof Promise) {
        part.then(
          (b) => (write(b, to - from) ? turn() : undefined),
          (err: unknown) => fail(`reading the rest of the body failed: ${(err as Error).message}`),
        );
        return;
      }
      if (!write(part, to - from)) return;
    }
  };
  // True when the kernel took `b` at once (go on), false when it waits in libuv (`turn` runs on completion) or failed.
  const write = (b: Buffer, expected: number): boolean => {
    if (over) return false;
    if (wire.destroyed) {
      end(false);
      return false;
    }
    if (b.length !== expected) {
      fail('a short read of the rest of the body');
      return false;
    }
    taken += b.length;
    return wire.write(b, turn);
  };
  turn();
  inCall = false;
  if (over) return { kind: outcome ? 'sent' : 'failed' };
  return { kind: 'pending', abort: () => end(false) };
}

