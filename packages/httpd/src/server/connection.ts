import { currentHttpDate, currentHttpSecond } from '../http/dates.js';
import { parseRequestHead, type FieldSectionSlot, type RequestHead } from '../http/parse-request.js';
import { nowSeconds } from '../http/dates.js';
import { errorResponse, representResource } from '../http/represent.js';
import { resolveRequest } from '../http/resolve.js';
import type { HttpResponse, RequestInfo } from '../http/response.js';
import { errorFields } from '../log.js';
import type { Site } from '../vhosts/site.js';
import type { ServerContext } from './context.js';
import { isSharedRead } from './fast-socket.js';
import type { Wire, WireEvents } from './wire.js';
import { startFileSend } from './file-send.js';
import type { FileRange } from '../io/sendfile.js';
import { readAheadLookup } from '../io/lookup-prefetch.js';

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

/** The protocol-neutral view of an HTTP/1.1 request head that resolve and represent read. */
export function requestInfoOf(head: RequestHead, scheme: 'http' | 'https'): RequestInfo {
  const h = head.headers;
  return {
    method: head.method,
    target: head.target,
    authority: h.host,
    hostCount: head.hostCount,
    minor: head.minor,
    scheme,
    acceptEncoding: h['accept-encoding'],
    range: h.range,
    ifRange: h['if-range'],
    ifMatch: h['if-match'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
    ifUnmodifiedSince: h['if-unmodified-since'],
  };
}

/** Whether an unparsable request was a HEAD: its error response then has no body either (RFC 9110 section 9.3.2). */
function startsWithHead(buf: Buffer | null): boolean {
  if (buf === null) return false;
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return buf.length - i >= 5 && buf.toString('latin1', i, i + 5) === 'HEAD ';
}

/**
 * A cached head with a Connection line after it, the same string each time: the object cache compares the head
 * a prebuilt response was made with by identity first, and a string concatenated per request would be compared
 * (and flattened) character by character on every response.
 */
const withConnectionMemo = new Map<string, Map<string, string>>();
function withConnection(headBlock: string, connection: string): string {
  let byHead = withConnectionMemo.get(connection);
  if (byHead === undefined) withConnectionMemo.set(connection, (byHead = new Map()));
  let s = byHead.get(headBlock);
  if (s === undefined) {
    if (byHead.size >= 4096) byHead.clear();
    s = headBlock + connection;
    byHead.set(headBlock, s);
  }
  return s;
}

/**
 * The field section this worker parsed last (parse-request.ts's FieldSectionMemo): a new connection starts
 * with it, since a client's connections carry the same fields (`ab -c 25` opens one per request).
 */
const lastSection: FieldSectionSlot = { memo: undefined, seen: 0 };

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
export class Connection implements WireEvents {
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
  /** The client half-closed: answer what was received, then close. */
  private peerEnded = false;
  /** The response being sent is the last because the client asked for that (see finish). */
  private clientClosed = false;
  /** The field section this connection's last head had, parsed: the next head with the same bytes reuses it. */
  private readonly section: FieldSectionSlot = { memo: lastSection.memo, seen: lastSection.seen };
  private readonly onDrained = () => {
    this.stopSendWatch();
    this.finish(this.closeAfterDrain);
  };
  private sendWatch: NodeJS.Timeout | undefined;

  /** The transport (wire.ts): a net.Socket, or the accepted handle itself (handle-wire.ts). */
  readonly socket: Wire;

  /** `wire` makes the transport, reporting its reads, EOF, timeouts and close to this connection. */
  constructor(
    wire: (events: WireEvents) => Wire,
    private readonly ctx: ServerContext,
  ) {
    this.socket = wire(this);
    ctx.connections.add(this);
    this.socket.setTimeout(ctx.timeouts.keepAliveMs);
  }

  onClose(): void {
    this.fileSend?.abort();
    this.stopSendWatch();
    this.ctx.connections.delete(this);
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
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

  /** Date.now() of the read being handled, while its handler runs; 0 outside it (read the clock afresh then). */
  private clock = 0;

  /** The read's clock while its handler runs, else the time now. */
  private now(): number {
    return this.clock === 0 ? Date.now() : this.clock;
  }

  /** Bytes read from the socket; `chunk` may be a view into the shared read buffer, valid only during this call. */
  onData(chunk: Buffer): void {
    if (this.routeSink !== undefined) return this.routeSink(chunk);
    if (this.closing) return;
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    // One clock read for everything answered from this read (head timing, preconditions, Date), as nginx
    // caches its time per event-loop turn: each Date.now() costs 50-150 ns here, and a request read five.
    const now = Date.now();
    if (this.headStart === 0) this.headStart = now;
    this.clock = now;
    if (!this.busy) this.process();
    else if (this.buf !== null && this.buf.length > MAX_BUFFERED) this.socket.pause();
    this.clock = 0;
    // What is kept for later (a partial or pipelined head) must not be overwritten by the next read.
    if (this.buf !== null && isSharedRead(this.buf)) this.buf = Buffer.from(this.buf);
  }

  onTimeout(): void {
    // A partial head that stalls gets 408; an idle keep-alive connection or a stalled reader is just closed.
    if (!this.busy && this.buf !== null && this.skip === 0) this.send(errorResponse(408, { close: true }), null, true);
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
        const r = parseRequestHead(this.buf, 0, this.ctx.limits, this.section);
        lastSection.memo = this.section.memo;
        lastSection.seen = this.section.seen;
        if (r.kind === 'incomplete') {
          const waited = Date.now() - this.headStart;
          if (waited > this.ctx.timeouts.headerMs) this.send(errorResponse(408, { close: true }), null, true);
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
          this.send(errorResponse(r.status, { close: true, isHead: startsWithHead(this.buf) }), null, true);
          break;
        }
        const route = this.ctx.routes === undefined ? -1 : this.ctx.routes.match(r.head);
        if (route !== -1) {
          this.handOff(route, r.head, r.end);
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
    this.endIfPeerEnded();
  }

  /** When the response being answered started (performance.now(); 0: none), and the site answering it: for the access log and metrics. */
  private started = 0;
  private answeredBy: Site | undefined;

  /** Whether a request is being answered (for the in-flight gauge). */
  get answering(): boolean {
    return this.started !== 0;
  }

  /** While a dynamic route owns the connection, reads go to it. */
  private routeSink: ((chunk: Buffer) => void) | undefined;

  /**
   * Gives the request (its head, the bytes after it, the socket) to its
   * dynamic route (routes/), which reads its body and writes its response,
   * then hands back what it read past the body.
   */
  private handOff(route: number, head: RequestHead, headEnd: number): void {
    const buf = this.buf!;
    const routeStarted = performance.now();
    this.busy = true;
    this.buf = null;
    this.socket.setTimeout(0); // the route runs its own body, response and send deadlines
    this.ctx.routes!.serve(route, {
      socket: this.socket.stream(),
      head,
      headBytes: Buffer.from(buf.subarray(0, headEnd)),
      rest: headEnd < buf.length ? Buffer.from(buf.subarray(headEnd)) : null,
      scheme: this.ctx.scheme,
      setSink: (sink) => (this.routeSink = sink),
      draining: () => this.closing || this.ctx.draining(),
      done: (leftover, close, status, bytes) => {
        this.routeSink = undefined;
        this.ctx.accessLog?.(this.socket, head, status, bytes, undefined, performance.now() - routeStarted);
        if (!this.socket.destroyed) this.socket.setTimeout(this.ctx.timeouts.keepAliveMs);
        this.buf = leftover;
        this.headStart = leftover === null ? 0 : Date.now();
        this.finish(close);
      },
    });
  }

  private handle(head: RequestHead): void {
    this.started = performance.now();
    const req = requestInfoOf(head, this.ctx.scheme);
    // A lookup that would read the disk reads its index page on the thread pool first (io/lookup-prefetch.ts):
    // in async mode, and in the others where the page cache can be asked (io/page-cache.ts).
    // (Not for a request with a body: the body being skipped is timed from its head, right after this.)
    const pending = head.contentLength === 0 && !head.chunked ? readAheadLookup(req, this.ctx.sites, this.ctx.bodies.executor.mode) : undefined;
    if (pending === undefined) return this.answer(head, req);
    this.busy = true; // no pipelined request is taken meanwhile
    void pending.then(() => this.answer(head, req));
  }

  private answer(head: RequestHead, req: RequestInfo): void {
    let res: HttpResponse;
    const isHead = head.method === 'HEAD';
    try {
      if (this.ctx.faultInjection && head.target.startsWith('/__fault__/')) injectFault(head.target);
      const resource = this.ctx.redirect?.(req) ?? resolveRequest(req, this.ctx.sites, this.ctx.resolve);
      res = representResource(resource, req, this.ctx.represent, nowSeconds(this.now()));
    } catch (err) {
      this.ctx.log.log('error', 'request-failed', { method: head.method, target: head.target, host: head.headers.host, ...errorFields(err), stack: (err as Error)?.stack });
      res = errorResponse(500, { isHead });
    }
    this.answeredBy = res.site;
    let close = res.close || !head.keepAlive || this.closing || this.ctx.draining();
    // The client itself ended the connection with this request (HTTP/1.0 without keep-alive, `Connection:
    // close`) and sent nothing after it: see finish().
    this.clientClosed = !head.keepAlive && !res.close && !this.closing && head.contentLength === 0 && !head.chunked;
    if (head.chunked) close = true;
    else if (head.contentLength > MAX_SKIPPED_BODY) close = true;
    else this.skip = head.contentLength;
    this.send(res, head, close);
  }

  private send(res: HttpResponse, head: RequestHead | null, close: boolean): void {
    this.busy = true;
    if (this.socket.destroyed) return this.finish(true);
    if (this.ctx.decorate !== undefined) res = this.ctx.decorate(res);
    const date = currentHttpDate(this.now());
    const headBlock = this.ctx.heads.head(res);
    // An HTTP/1.0 client keeps the connection only if the response says so (RFC 9112 Appendix C.2.2).
    const connection = close ? 'Connection: close\r\n' : head?.minor === 0 ? 'Connection: keep-alive\r\n' : '';
    // A large body that is one range of the webroot file, on a plain connection: sendfile(2), no copy (file-send.ts).
    const range = head !== null ? this.ctx.bodies.fileRange(res) : undefined;
    if (range !== undefined && this.sendFile(res, range, `${headBlock}Date: ${date}\r\n${connection}\r\n`, head!, close)) return;
    // The common case, a GET of a whole cached object: one prebuilt buffer, no copy. The Connection field is
    // part of what the buffer was built with, so a site answered with `Connection: close` (`ab -c 25`, a new
    // connection per request) or to HTTP/1.0 keep-alive clients (`ab -k`) is prebuilt too; a slot asked for
    // another variant is rebuilt, which costs what the gathered path below costs every time.
    if (res.cacheKey?.kind === 'whole' && head !== null && res.body.length === 1) {
      const whole = this.ctx.cache.response(res.cacheKey.object, connection === '' ? headBlock : withConnection(headBlock, connection), currentHttpSecond(), date);
      if (whole !== undefined) return this.sent(this.socket.write(whole, this.onDrained), head, res.status, res.bodyLength, close);
    }
    // A keep-alive 304 of a stored object (a revalidation): prebuilt bytes too, one Buffer per object and second.
    if (res.cacheKey?.kind === 'not-modified' && connection === '' && res.body.length === 0) {
      return this.sent(this.socket.write(this.ctx.heads.notModifiedResponse(res.cacheKey.object, headBlock, currentHttpSecond(), date), this.onDrained), head, 304, 0, close);
    }
    const headText = `${headBlock}Date: ${date}\r\n${connection}\r\n`;
    if (res.body.length === 0) {
      // No body (HEAD, 304, 204): the string goes to the socket without a Buffer in between.
      return this.sent(this.socket.write(headText, this.onDrained), head, res.status, 0, close);
    }
    const webroot = res.body.some((s) => s.kind === 'object') ? res.site!.webroot.acquire() : undefined;
    const done = (ok: boolean, written = true) => {
      webroot?.release();
      this.sent(written, head, res.status, ok ? res.bodyLength : 0, close || !ok);
    };
    const bytesBefore = this.socket.bytesWritten;
    const fail = (err: unknown) => {
      this.ctx.log.log('error', 'send-failed', { target: head?.target, ...errorFields(err) });
      webroot?.release();
      this.busy = false;
      // Nothing of this response has gone out yet (reads come before the first write): a 500 can still be said.
      if (!this.socket.destroyed && this.socket.bytesWritten === bytesBefore && res.status !== 500) {
        this.send(errorResponse(500, { close: true, isHead: head?.method === 'HEAD' }), head, true);
      } else {
        this.socket.destroy();
      }
    };
    try {
      if (this.ctx.bodies.gathers(res, SMALL_BODY)) {
        const write = (out: Buffer) => {
          if (this.socket.destroyed) return done(false);
          done(true, this.socket.write(out, this.onDrained));
        };
        const out = this.ctx.bodies.gather(res, headText);
        if (out instanceof Promise) out.then(write, fail);
        else write(out);
      } else this.sendLarge(headText, res).then(done, fail);
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
    // this.clock: the read's Date.now() while its handler runs (0 after an asynchronous send: the log reads the clock then).
    if (this.ctx.accessLog !== undefined) this.ctx.accessLog(this.socket, head, status, bytes, this.answeredBy, this.started === 0 ? 0 : performance.now() - this.started, this.clock);
    this.started = 0;
    this.answeredBy = undefined;
    if (written) this.finish(close);
    else {
      this.closeAfterDrain = close;
      // Over TLS every write is reported late, even when the kernel took it at once: no watch (two timers
      // and two idle-timeout changes per response) for a report that comes from a setImmediate anyway.
      if (this.socket.writeQueued()) this.startSendWatch();
    }
  }

  /**
   * --send-timeout: while bytes wait for a client that reads nothing, close
   * once none has left for that long. Node's own socket timeout cannot say
   * this: it lets its first expiry pass whenever a write is queued, so it
   * fired at twice the time set.
   */
  private startSendWatch(): void {
    if (this.sendWatch !== undefined || this.socket.destroyed) return;
    const socket = this.socket;
    const limit = this.ctx.timeouts.sendMs;
    socket.setTimeout(0);
    let sent = socket.kernelBytes();
    let since = Date.now();
    this.sendWatch = setInterval(() => {
      const now = socket.kernelBytes();
      if (now !== sent) {
        sent = now;
        since = Date.now();
      } else if (Date.now() - since >= limit) {
        this.ctx.log.log('debug', 'send-timeout', { remote: socket.remoteAddress, ms: limit });
        this.stopSendWatch();
        socket.destroy();
      }
    }, Math.min(250, limit));
    this.sendWatch.unref();
  }

  private stopSendWatch(): void {
    if (this.sendWatch === undefined) return;
    clearInterval(this.sendWatch);
    this.sendWatch = undefined;
    if (!this.socket.destroyed) this.socket.setTimeout(this.ctx.timeouts.keepAliveMs);
  }

  /** The sendfile(2) send in progress, if any: a close aborts it. */
  private fileSend: { abort(): void } | undefined;

  /** Sends `res` with sendfile(2); false (nothing written) when the wire cannot now, and the usual path answers. */
  private sendFile(res: HttpResponse, range: FileRange, headText: string, head: RequestHead, close: boolean): boolean {
    const seg = res.body[0] as Extract<HttpResponse['body'][number], { kind: 'object' }>;
    const webroot = res.site!.webroot.acquire();
    const start = startFileSend({
      wire: this.socket,
      fd: webroot.descriptor,
      range,
      head: headText,
      readPart: (from, to) => this.ctx.bodies.readPart(webroot, seg.object, seg.start + from, seg.start + to),
      done: (ok) => {
        this.fileSend = undefined;
        webroot.release();
        if (ok) this.onDrained();
        else this.finish(true);
      },
      failed: (reason) => this.ctx.log.log('error', 'send-failed', { target: head.target, reason }),
    });
    if (start.kind === 'pending') {
      this.fileSend = start;
      this.sent(false, head, res.status, res.bodyLength, close);
      // The rest may first wait for a read (the IO mode's, on the thread pool in stream and async mode),
      // with no write queued yet: the send watch runs from here, not from the first queued write.
      this.startSendWatch();
      return true;
    }
    webroot.release();
    if (start.kind === 'unavailable') return false;
    this.sent(true, head, res.status, start.kind === 'sent' ? res.bodyLength : 0, close || start.kind === 'failed');
    return true;
  }

  private async sendLarge(headText: string, res: HttpResponse): Promise<boolean> {
    this.startSendWatch();
    try {
      return await this.ctx.bodies.pump(this.socket.stream(), res, [Buffer.from(headText, 'latin1')]);
    } finally {
      this.stopSendWatch();
    }
  }

  private finish(close: boolean): void {
    this.busy = false;
    if (close || this.closing) {
      this.closing = true;
      // RFC 9112 section 9.6: a server closes in stages (half-close, then read until the client closes) so that
      // a client's later data cannot make the kernel reset the connection before the client has read the last
      // response. A client that sent "close" must not send more (the same section); when it sent nothing more,
      // the response is in the kernel and the connection can be closed at once, as nginx does without lingering:
      // a shutdown, an EOF read and two callbacks fewer per connection (ab -c 25).
      const atOnce = this.clientClosed && this.buf === null && !this.peerEnded;
      this.buf = null;
      this.socket.end(atOnce);
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.inLoop && this.buf !== null) this.process();
    this.endIfPeerEnded();
  }

  /**
   * The client shut down its sending side (a half-close: `nc -N`, some HTTP/1.0
   * clients and health checkers): every complete request already received is
   * still answered in full, then the connection closes (RFC 9112 section 9.6).
   */
  onEnd(): void {
    this.peerEnded = true;
    this.endIfPeerEnded();
  }

  private endIfPeerEnded(): void {
    if (!this.peerEnded || this.busy || this.inLoop || this.socket.destroyed) return;
    // What is left is at most a partial head that can no longer complete.
    this.closing = true;
    this.buf = null;
    // After a `Connection: close` response our side has ended already (the wire then does nothing).
    this.socket.end();
  }
}
