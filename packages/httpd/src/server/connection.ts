import type net from 'node:net';
import { currentHttpDate, currentHttpSecond } from '../http/dates.js';
import { parseRequestHead, type RequestHead } from '../http/parse-request.js';
import { errorPlan, planResponse, type Plan } from '../http/plan.js';
import { statusLine } from '../http/status.js';
import { errorFields } from '../log.js';
import type { ServerContext } from './context.js';
import { isSharedRead, writeNow } from './fast-socket.js';

/**
 * Test-only faults, enabled by WEBROOT_FAULT_INJECTION=1 (never by default):
 * /__fault__/throw throws inside request handling (the worker must answer 500
 * and keep serving); /__fault__/crash throws outside it (the worker dies and
 * the supervisor must replace it).
 */
function injectFault(target: string): void {
  if (target === '/__fault__/throw') throw new Error('injected fault while handling a request');
  if (target === '/__fault__/crash') {
    setImmediate(() => {
      throw new Error('injected fault outside request handling');
    });
  }
}

/** Bodies up to this size are gathered into one buffer with the head: one write, one syscall. */
export const SMALL_BODY = 64 * 1024;
/** A request body up to this size is read and discarded to keep the connection; a larger one closes it. */
const MAX_SKIPPED_BODY = 64 * 1024;
/** Unparsed pipelined bytes beyond this pause reading until the current response is done. */
const MAX_BUFFERED = 64 * 1024;

/**
 * One client connection: parses request heads as bytes arrive, answers them
 * strictly in order (pipelining), and applies the header, idle and send timeouts.
 */
export class Connection {
  private buf: Buffer | null = null;
  private busy = false;
  private closing = false;
  private inLoop = false;
  private skip = 0;
  /** When the first byte of the request head being received arrived (0: none pending). */
  private headStart = 0;
  /** The socket timeout is the header timeout while a partial head is pending. */
  private awaitingHead = false;
  /** Whether to close once the response the kernel could not take at once has been written. */
  private closeAfterDrain = false;
  private readonly onDrained = () => this.finish(this.closeAfterDrain);

  /** `sharedReads`: the socket's reads arrive through `onData`, called by its `onread` callback, not as 'data' events. */
  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ServerContext,
    sharedReads = false,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(ctx.timeouts.keepAliveMs);
    if (!sharedReads) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onTimeout());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => ctx.connections.delete(this));
    ctx.connections.add(this);
  }

  /**
   * Closes now if idle, else after the response in progress. With `idleGraceMs`
   * (an upgrade hands the socket to a new primary), a keep-alive client is told
   * instead: the server is draining, so its next response says `Connection: close`
   * (RFC 9112 section 9.6) and the connection ends after it; one that sends nothing
   * within the grace is closed then. That avoids closing a connection just as its
   * client sends the next request on it, which the client would see as a failure.
   */
  shutdown(idleGraceMs = 0): void {
    if (idleGraceMs > 0) {
      setTimeout(() => {
        if (!this.busy && this.buf === null) this.shutdown();
      }, idleGraceMs).unref();
      return;
    }
    this.closing = true;
    if (!this.busy) this.socket.destroy();
  }

  /** Bytes read from the socket; `chunk` may be a view into the shared read buffer, valid only during this call. */
  onData(chunk: Buffer): void {
    if (this.closing) return;
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.headStart === 0) this.headStart = Date.now();
    if (!this.busy) this.process();
    else if (this.buf !== null && this.buf.length > MAX_BUFFERED) this.socket.pause();
    // What is kept for later (a partial or pipelined head) must not be overwritten by the next read.
    if (this.buf !== null && isSharedRead(this.buf)) this.buf = Buffer.from(this.buf);
  }

  private onTimeout(): void {
    // A partial head that stalls gets 408; an idle keep-alive connection or a stalled reader is just closed.
    if (!this.busy && this.buf !== null && this.skip === 0) this.send(errorPlan(408, true), null, true);
    else this.socket.destroy();
  }

  private process(): void {
    this.inLoop = true;
    try {
      while (!this.busy && !this.closing && this.buf !== null) {
        if (this.skip > 0) {
          const n = Math.min(this.skip, this.buf.length);
          this.skip -= n;
          this.buf = n === this.buf.length ? null : this.buf.subarray(n);
          if (this.skip > 0) {
            // A body we discard must arrive as promptly as a head: the same deadline, counted from the head's start.
            const left = this.ctx.timeouts.headerMs - (Date.now() - this.headStart);
            if (left <= 0) this.socket.destroy();
            else this.socket.setTimeout(left);
            this.awaitingHead = true;
            break;
          }
          this.headStart = this.buf !== null ? Date.now() : 0;
          if (this.awaitingHead) {
            this.awaitingHead = false;
            this.socket.setTimeout(this.ctx.timeouts.keepAliveMs);
          }
          continue;
        }
        const r = parseRequestHead(this.buf, 0, this.ctx.limits);
        if (r.kind === 'incomplete') {
          const waited = Date.now() - this.headStart;
          if (waited > this.ctx.timeouts.headerMs) this.send(errorPlan(408, true), null, true);
          else {
            // A stalled partial head is cut at the header deadline, not the (longer) idle timeout.
            this.awaitingHead = true;
            this.socket.setTimeout(this.ctx.timeouts.headerMs - waited);
          }
          break;
        }
        if (this.awaitingHead) {
          this.awaitingHead = false;
          this.socket.setTimeout(this.ctx.timeouts.keepAliveMs);
        }
        if (r.kind === 'error') {
          this.ctx.log.log('debug', 'bad-request', { status: r.status, reason: r.reason, remote: this.socket.remoteAddress });
          this.send(errorPlan(r.status, true), null, true);
          break;
        }
        this.buf = r.end < this.buf.length ? this.buf.subarray(r.end) : null;
        this.handle(r.head);
        // The next head (or the body being skipped) is timed from here.
        this.headStart = this.buf === null && this.skip === 0 ? 0 : Date.now();
      }
    } finally {
      this.inLoop = false;
    }
  }

  private handle(head: RequestHead): void {
    let plan: Plan;
    try {
      if (this.ctx.faultInjection && head.target.startsWith('/__fault__/')) injectFault(head.target);
      plan = planResponse(head, this.ctx.sites, this.ctx.plan);
    } catch (err) {
      this.ctx.log.log('error', 'request-failed', { method: head.method, target: head.target, host: head.headers.host, ...errorFields(err), stack: (err as Error)?.stack });
      plan = errorPlan(500, false, head.method === 'HEAD');
    }
    let close = plan.close === true || !head.keepAlive || this.closing || this.ctx.draining();
    if (head.chunked) close = true;
    else if (head.contentLength > MAX_SKIPPED_BODY) close = true;
    else this.skip = head.contentLength;
    this.send(plan, head, close);
  }

  private send(plan: Plan, head: RequestHead | null, close: boolean): void {
    this.busy = true;
    if (this.socket.destroyed) return this.finish(true);
    const date = currentHttpDate();
    // The common case, a keep-alive GET of a whole cached object: one prebuilt buffer, no copy.
    if (!close && plan.status === 200 && head !== null && head.minor === 1 && plan.body.length === 1) {
      const seg = plan.body[0]!;
      if (seg.kind === 'object' && seg.start === 0 && seg.end === seg.object.length) {
        const whole = this.ctx.cache.response(seg.object, plan.headers, currentHttpSecond(), date);
        if (whole !== undefined) return this.sent(writeNow(this.socket, whole, this.onDrained), head, plan.status, plan.bodyLength, false);
      }
    }
    // An HTTP/1.0 client keeps the connection only if the response says so (RFC 9112 Appendix C.2.2).
    const connection = close ? 'Connection: close\r\n' : head?.minor === 0 ? 'Connection: keep-alive\r\n' : '';
    const headText = `${statusLine(plan.status)}${plan.headers}Date: ${date}\r\n${connection}\r\n`;
    if (plan.body.length === 0) {
      // No body (HEAD, 304, 204): the string goes to the socket without a Buffer in between.
      return this.sent(writeNow(this.socket, headText, this.onDrained), head, plan.status, 0, close);
    }
    const webroot = plan.body.some((s) => s.kind === 'object') ? plan.site!.webroot.acquire() : undefined;
    const done = (ok: boolean, written = true) => {
      webroot?.release();
      this.sent(written, head, plan.status, ok ? plan.bodyLength : 0, close || !ok);
    };
    const bytesBefore = this.socket.bytesWritten;
    const fail = (err: unknown) => {
      this.ctx.log.log('error', 'send-failed', { target: head?.target, ...errorFields(err) });
      webroot?.release();
      this.busy = false;
      // Nothing of this response has gone out yet (reads come before the first write): a 500 can still be said.
      if (!this.socket.destroyed && this.socket.bytesWritten === bytesBefore && plan.status !== 500) {
        this.send(errorPlan(500, true, head?.method === 'HEAD'), head, true);
      } else {
        this.socket.destroy();
      }
    };
    try {
      if (plan.bodyLength <= SMALL_BODY) this.sendSmall(headText, plan, done, fail);
      else this.sendLarge(headText, plan).then(done, fail);
    } catch (err) {
      fail(err);
    }
  }

  /**
   * A response has been handed over. When the kernel did not take all of it
   * (`written` false), the connection stays busy until it has: a client that
   * pipelines requests without reading gets one queued response, not many.
   */
  private sent(written: boolean, head: RequestHead | null, status: number, bytes: number, close: boolean): void {
    this.ctx.accessLog?.(this.socket, head, status, bytes);
    if (written) this.finish(close);
    else this.closeAfterDrain = close;
  }

  /** Head and body in one buffer, one write; reads that the mode cannot do synchronously are awaited first. */
  private sendSmall(headText: string, plan: Plan, done: (ok: boolean, written?: boolean) => void, fail: (err: unknown) => void): void {
    const { cache, executor } = this.ctx;
    const parts: (Buffer | Promise<Buffer>)[] = [];
    let pending = false;
    for (const seg of plan.body) {
      if (seg.kind === 'buffer') {
        parts.push(seg.data);
        continue;
      }
      const webroot = plan.site!.webroot;
      if (cache.cacheable(seg.object)) {
        const hit = cache.get(seg.object);
        if (hit) {
          parts.push(seg.start === 0 && seg.end === hit.length ? hit : hit.subarray(seg.start, seg.end));
          continue;
        }
        const whole = executor.read(webroot, seg.object, 0, seg.object.length);
        const keep = (b: Buffer) => {
          cache.set(seg.object, b);
          return seg.start === 0 && seg.end === b.length ? b : b.subarray(seg.start, seg.end);
        };
        if (whole instanceof Promise) {
          pending = true;
          parts.push(whole.then(keep));
        } else parts.push(keep(whole));
        continue;
      }
      const bytes = executor.read(webroot, seg.object, seg.start, seg.end);
      if (bytes instanceof Promise) pending = true;
      parts.push(bytes);
    }
    const write = (bodies: Buffer[]) => {
      if (this.socket.destroyed) return done(false);
      const headLength = Buffer.byteLength(headText, 'latin1');
      let total = headLength;
      for (const b of bodies) total += b.length;
      const out = Buffer.allocUnsafe(total);
      out.write(headText, 0, 'latin1');
      let at = headLength;
      for (const b of bodies) at += b.copy(out, at);
      done(true, writeNow(this.socket, out, this.onDrained));
    };
    if (pending) Promise.all(parts).then(write, fail);
    else write(parts as Buffer[]);
  }

  private async sendLarge(headText: string, plan: Plan): Promise<boolean> {
    const socket = this.socket;
    socket.setTimeout(this.ctx.timeouts.sendMs);
    // Literal bytes (the head, multipart part headers) ride along with the next object's first chunk.
    let pending: Buffer[] = [Buffer.from(headText, 'latin1')];
    for (const seg of plan.body) {
      if (socket.destroyed) return false;
      if (seg.kind === 'buffer') pending.push(seg.data);
      else {
        const ok = await this.ctx.executor.pump(socket, plan.site!.webroot, seg.object, seg.start, seg.end, pending);
        pending = [];
        if (!ok) return false;
      }
    }
    for (const b of pending) socket.write(b);
    socket.setTimeout(this.ctx.timeouts.keepAliveMs);
    return !socket.destroyed;
  }

  private finish(close: boolean): void {
    this.busy = false;
    if (close || this.closing) {
      this.closing = true;
      this.buf = null;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.inLoop && this.buf !== null) this.process();
  }
}
