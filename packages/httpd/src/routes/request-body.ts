/**
 * A request body for a route, as a WHATWG ReadableStream: bytes come from the
 * connection (what followed the head, then each read), framed by
 * Content-Length or chunked (RFC 9112 section 6.3, 7.1). Memory is bounded:
 * past HIGH_WATER queued bytes the socket is paused until the handler reads.
 * The size limit counts decoded bytes; the first byte past it fails the body.
 */
import type net from 'node:net';
import { ChunkedDecoder } from './chunked.js';

/** Queued, unread body bytes above this pause the socket. */
export const HIGH_WATER = 64 * 1024;

export type BodyFailure = { kind: 'too-large' } | { kind: 'malformed'; reason: string } | { kind: 'incomplete' } | { kind: 'timeout' };

export class BodyError extends Error {
  constructor(readonly failure: BodyFailure) {
    super(failure.kind === 'malformed' ? `malformed request body: ${failure.reason}` : `request body ${failure.kind}`);
  }
}

export class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private left: number;
  private readonly chunked: ChunkedDecoder | undefined;
  private failure: BodyFailure | undefined;
  private wake: (() => void) | undefined;
  private pulled = false;
  /** Bytes after the body (a pipelined request), kept for the connection. */
  leftover: Buffer | null = null;
  complete: boolean;

  /** `onFirstPull`: where the 100 Continue goes (RFC 9110 section 10.1.1: sent when the handler wants the body). */
  constructor(
    private readonly socket: net.Socket,
    framing: { contentLength: number; chunked: boolean },
    private readonly limit: number,
    private readonly onFirstPull: () => void,
    private readonly onFail: (failure: BodyFailure) => void,
  ) {
    this.chunked = framing.chunked ? new ChunkedDecoder() : undefined;
    this.left = framing.chunked ? Infinity : framing.contentLength;
    this.complete = !framing.chunked && framing.contentLength === 0;
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.pull(controller),
        cancel: () => {
          this.queue.length = 0;
          this.queued = 0;
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Bytes read from the socket (a view valid only during this call: what is kept is copied). */
  feed(chunk: Buffer): void {
    if (this.complete || this.failure !== undefined) {
      if (this.complete) this.keepLeftover(chunk);
      return;
    }
    let data: Buffer[];
    if (this.chunked !== undefined) {
      const out = this.chunked.push(chunk);
      if (out.kind === 'error') return this.fail({ kind: 'malformed', reason: out.reason });
      data = out.data;
      if (out.done) {
        this.complete = true;
        if (out.rest !== null) this.keepLeftover(out.rest);
      }
    } else {
      const take = Math.min(this.left, chunk.length);
      data = take > 0 ? [chunk.subarray(0, take)] : [];
      this.left -= take;
      if (this.left === 0) {
        this.complete = true;
        if (take < chunk.length) this.keepLeftover(chunk.subarray(take));
      }
    }
    for (const d of data) {
      this.received += d.length;
      if (this.received > this.limit) return this.fail({ kind: 'too-large' });
      this.queue.push(Buffer.from(d));
      this.queued += d.length;
    }
    if (this.queued > HIGH_WATER) this.socket.pause();
    this.wakeReader();
  }

  /** The client went away or the deadline passed: a body still arriving fails. */
  fail(failure: BodyFailure): void {
    if (this.complete && failure.kind !== 'too-large') return;
    if (this.failure !== undefined) return;
    this.failure = failure;
    this.socket.pause();
    this.wakeReader();
    this.onFail(failure);
  }

  private keepLeftover(b: Buffer): void {
    this.leftover = this.leftover === null ? Buffer.from(b) : Buffer.concat([this.leftover, b]);
    // A client pipelining far ahead waits until this response is done.
    if (this.leftover.length > HIGH_WATER) this.socket.pause();
  }

  private wakeReader(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (!this.pulled) {
      this.pulled = true;
      if (!this.complete && this.received === 0) this.onFirstPull();
    }
    for (;;) {
      if (this.queue.length > 0) {
        const out = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
        this.queue.length = 0;
        this.queued = 0;
        if (!this.complete && this.failure === undefined) this.socket.resume();
        controller.enqueue(new Uint8Array(out.buffer, out.byteOffset, out.length));
        return;
      }
      if (this.failure !== undefined) {
        controller.error(new BodyError(this.failure));
        return;
      }
      if (this.complete) {
        controller.close();
        return;
      }
      this.socket.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
