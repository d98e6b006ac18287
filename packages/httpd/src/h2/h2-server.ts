import http2 from 'node:http2';
import type net from 'node:net';
import { nowSeconds } from '../http/dates.js';
import { errorResponse, representResource } from '../http/represent.js';
import { resolveRequest } from '../http/resolve.js';
import type { HttpResponse, RequestInfo } from '../http/response.js';
import { RequestHeaders, type RequestHead } from '../http/parse-request.js';
import { errorFields } from '../log.js';
import { readAheadLookup } from '../io/lookup-prefetch.js';
import type { ServerContext } from '../server/context.js';
import { FastRespond } from './fast-respond.js';
import { H2HeadCache, h2Headers } from './serialize-h2.js';
import { IdleSessions, streamClosed, streamOpened, type SessionState } from './session-idle.js';

/**
 * Limits of every HTTP/2 session (RFC 9113 section 6.5.2 settings, plus the
 * rapid-reset guard). Bodies over H2_WHOLE_BODY hold at most two 512 KiB chunks per stream
 * (the executors' double buffering waits for node:http2 to hand each chunk
 * to the socket, which respects the peer's flow-control window), so a session
 * holds at most MAX_CONCURRENT_STREAMS x 1 MiB of body buffers.
 */
export const H2_LIMITS = {
  maxConcurrentStreams: 100,
  /** Same bound as an HTTP/1.1 head (DEFAULT_LIMITS.maxHeaderBytes). */
  maxHeaderListSize: 16 * 1024,
  /** CVE-2023-44487 ("rapid reset"): more client-reset streams than this within RESET_WINDOW_MS ends the session. */
  maxResetsPerWindow: 200,
  resetWindowMs: 1000,
  /** node:http2's own cap on buffered outgoing frames per session, MB. */
  maxSessionMemoryMb: 32,
} as const;

/**
 * The size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it: name + value + 32 per field (RFC 9113
 * section 6.5.2), from node:http2's raw list (name, value, name, value...): a `for...in` over the headers object
 * instead was 1.6 us a stream, a tenth of our pipeline's cost over HTTP/2.
 */
export function rawHeaderListSize(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 32;
  return n;
}

/** The same from the headers object (repeated fields as arrays), where no raw list is given. */
export function headerListSize(headers: http2.IncomingHttpHeaders): number {
  let n = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') n += name.length + value.length + 32;
    else for (const v of value) n += name.length + String(v).length + 32;
  }
  return n;
}

/** A field's value as one string (node:http2 gives repeated fields as arrays). */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Errors of a stream are seen through its close (rstCode); one shared listener keeps them from being thrown. */
function ignore(): void {}

/** The request as the access log records it (its HTTP/1.1 shape, protocol HTTP/2.0). */
function accessHeadOf(headers: http2.IncomingHttpHeaders, req: RequestInfo): RequestHead {
  const h = new RequestHeaders();
  h.host = req.authority;
  h.referer = one(headers.referer);
  h['user-agent'] = one(headers['user-agent']);
  return { method: req.method, target: req.target, minor: 1, headers: h, hostCount: req.hostCount, contentLength: 0, chunked: false, keepAlive: true, protocol: 'HTTP/2.0' };
}

/**
 * A stream's 'close': its session (`state`, taken when the stream opened: a closed stream no longer knows
 * its session) has one open stream fewer, and one that ends in a reset we did not send counts toward the
 * rapid-reset guard. True when it ended cleanly.
 */
function streamEnded(stream: http2.ServerHttp2Stream, state: SessionState | undefined): boolean {
  streamClosed(state);
  const clean = stream.rstCode === http2.constants.NGHTTP2_NO_ERROR;
  if (!clean && !selfReset.has(stream)) state?.resetSeen();
  return clean;
}

/** The 'close' listener every stream of a session shares (no closure per stream, no property added to node's stream objects). */
const closeListeners = new WeakMap<SessionState, (this: http2.ServerHttp2Stream) => void>();
function closeListenerOf(state: SessionState): (this: http2.ServerHttp2Stream) => void {
  let listener = closeListeners.get(state);
  if (listener === undefined) {
    listener = function (this: http2.ServerHttp2Stream) {
      streamEnded(this, state);
    };
    closeListeners.set(state, listener);
  }
  return listener;
}

/** `respond` copies its options: one object serves every bodiless response. */
const END_STREAM = { endStream: true } as const;

/** Streams this server reset itself (a send timeout, a failed read): not the client's doing. */
const selfReset = new WeakSet<http2.ServerHttp2Stream>();

function resetStream(stream: http2.ServerHttp2Stream, code: number): void {
  selfReset.add(stream);
  stream.close(code);
}

/**
 * Bodies up to this size are read whole into one buffer of their own size (or
 * taken from the object cache, whose objects are at most this size) and sent
 * with `end(buffer)`. Pumping them instead cost two 512 KiB buffers per stream:
 * a worker peaked at 300 MiB under h2load -c50 -m10 of a 100 KB file.
 */
export const H2_WHOLE_BODY = 256 * 1024;

/** What resolve and represent read of an HTTP/2 request (RFC 9113 section 8.3.1). */
export function requestInfoOfH2(headers: http2.IncomingHttpHeaders): RequestInfo {
  const authority = headers[':authority'] ?? headers.host;
  return {
    method: String(headers[':method'] ?? ''),
    target: String(headers[':path'] ?? ''),
    authority,
    hostCount: authority === undefined ? 0 : 1,
    minor: 1,
    scheme: 'https',
    acceptEncoding: one(headers['accept-encoding']),
    range: one(headers.range),
    ifRange: one(headers['if-range']),
    ifMatch: one(headers['if-match']),
    ifNoneMatch: one(headers['if-none-match']),
    ifModifiedSince: one(headers['if-modified-since']),
    ifUnmodifiedSince: one(headers['if-unmodified-since']),
  };
}

/**
 * HTTP/2 over sockets that negotiated `h2`: node:http2 does the framing, flow
 * control and HPACK; each stream is answered from the same resolve and
 * represent steps as HTTP/1.1, serialized by h2Headers. Small bodies are one
 * `respond` + `end(buffer)`; large ones are pumped with backpressure. Never
 * `respondWithFD`: it crashes Node 20.20.2 when a client drops the connection.
 */
export class H2Server {
  readonly server: http2.Http2Server;
  private readonly sessions: IdleSessions;
  private readonly heads = new H2HeadCache();
  private readonly responder = new FastRespond();

  constructor(private readonly ctx: ServerContext) {
    this.sessions = new IdleSessions(() => ctx.timeouts.keepAliveMs);
    this.server = http2.createServer({
      settings: { maxConcurrentStreams: H2_LIMITS.maxConcurrentStreams, maxHeaderListSize: H2_LIMITS.maxHeaderListSize, enablePush: false },
      maxSessionMemory: H2_LIMITS.maxSessionMemoryMb,
      maxHeaderListPairs: 128,
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers, _flags, raw?: string[]) => this.onStream(stream, headers, raw));
  }

  /** A TLS socket that negotiated h2 (after its handshake). */
  adopt(socket: net.Socket): void {
    if (this.ctx.draining()) {
      socket.destroy();
      return;
    }
    this.server.emit('connection', socket);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private onSession(session: http2.ServerHttp2Session): void {
    session.on('error', () => session.destroy());
    // An idle session (no open stream) is closed like an idle keep-alive connection: by IdleSessions' sweep.
    let windowStart = 0;
    let resets = 0;
    this.sessions.add(session, () => {
      const now = Date.now();
      if (now - windowStart > H2_LIMITS.resetWindowMs) {
        windowStart = now;
        resets = 0;
      }
      if (++resets > H2_LIMITS.maxResetsPerWindow && !session.destroyed) {
        this.ctx.log.log('warn', 'h2-rapid-reset', { remote: session.socket?.remoteAddress, resets, windowMs: H2_LIMITS.resetWindowMs });
        // GOAWAY first, then close: a destroy() here (inside a stream's close) never reaches the client.
        session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.close();
        setTimeout(() => session.destroy(), 1000).unref();
      }
    });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: string[] | undefined): void {
    stream.on('error', ignore);
    // Taken now: a closed stream no longer knows its session.
    const state = this.sessions.get(stream.session);
    const req = requestInfoOfH2(headers);
    const started = this.ctx.accessLog !== undefined ? performance.now() : 0;
    // A lookup that would read the disk reads its index page on the thread pool first, as over HTTP/1.1
    // (io/lookup-prefetch.ts; a stream whose request is still sending its body is answered as it was).
    const pending = stream.endAfterHeaders ? readAheadLookup(req, this.ctx.sites, this.ctx.bodies.executor.mode) : undefined;
    if (pending === undefined) return this.answer(stream, headers, raw, state, req, started, false);
    // Counted open now: a client that resets streams while their index pages are read is seen by the
    // rapid-reset guard as any other (this listener accounts for a stream that closes before its answer).
    streamOpened(state);
    let answering = false;
    stream.once('close', () => {
      if (!answering) streamEnded(stream, state);
    });
    void pending.then(() => {
      // Reset or closed meanwhile: nothing to answer (its close is counted above).
      if (stream.destroyed || stream.closed) return;
      answering = true;
      this.answer(stream, headers, raw, state, req, started, true);
    });
  }

  /** `counted`: the stream was counted open already (it waited for its index page). */
  private answer(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: string[] | undefined, state: SessionState | undefined, req: RequestInfo, started: number, counted: boolean): void {
    let res: HttpResponse;
    if ((Array.isArray(raw) ? rawHeaderListSize(raw) : headerListSize(headers)) > H2_LIMITS.maxHeaderListSize) {
      // node:http2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but accepts more; the same 431 as an HTTP/1.1 head over the limit (RFC 6585 section 5).
      res = errorResponse(431, { isHead: req.method === 'HEAD' });
    } else try {
      if (this.ctx.faultInjection && req.target === '/__fault__/throw') throw new Error('injected fault while handling a request');
      res = representResource(resolveRequest(req, this.ctx.sites, this.ctx.resolve), req, this.ctx.represent, nowSeconds());
    } catch (err) {
      this.ctx.log.log('error', 'request-failed', { method: req.method, target: req.target, host: req.authority, protocol: 'h2', ...errorFields(err), stack: (err as Error)?.stack });
      res = errorResponse(500, { isHead: req.method === 'HEAD' });
    }
    if (this.ctx.decorate !== undefined) res = this.ctx.decorate(res);
    // One close listener per stream: the open-stream count and the rapid-reset guard, then the access log and
    // metrics. Without an access log it is one function per session ('close' comes once: `on`, not `once`,
    // whose wrapper is two more objects a stream).
    const accessLog = this.ctx.accessLog;
    const socket = accessLog !== undefined ? (stream.session as unknown as { socket: net.Socket } | undefined)?.socket : undefined;
    // Counted open here, right before the listener that counts it closed.
    if (!counted) streamOpened(state);
    if ((accessLog === undefined || socket === undefined) && state !== undefined) stream.on('close', closeListenerOf(state));
    else {
      const answered = res;
      stream.on('close', () => {
        const clean = streamEnded(stream, state);
        if (accessLog === undefined || socket === undefined) return;
        // Bytes of body the stream sent whole; a reset stream logs none.
        accessLog(socket, accessHeadOf(headers, req), answered.status, clean ? answered.bodyLength : 0, answered.site, performance.now() - started);
      });
    }
    try {
      const sending = this.send(stream, res);
      if (sending !== undefined) sending.catch((err: unknown) => this.sendFailed(stream, req, err));
    } catch (err) {
      this.sendFailed(stream, req, err);
    }
  }

  private sendFailed(stream: http2.ServerHttp2Stream, req: RequestInfo, err: unknown): void {
    this.ctx.log.log('error', 'send-failed', { target: req.target, protocol: 'h2', ...errorFields(err) });
    if (stream.destroyed) return;
    if (stream.headersSent) return resetStream(stream, http2.constants.NGHTTP2_INTERNAL_ERROR);
    // Nothing of this response has gone out yet (reads come before respond): a 500 can still be said.
    const e = errorResponse(500, { isHead: req.method === 'HEAD' });
    stream.respond(h2Headers(this.ctx.decorate ? this.ctx.decorate(e) : e));
    stream.end(e.body.length > 0 && e.body[0]!.kind === 'buffer' ? e.body[0]!.data : undefined);
  }

  /** Sends `res` on `stream`; a Promise only when the body needs IO that is not synchronous (async reads, large bodies). */
  private send(stream: http2.ServerHttp2Stream, res: HttpResponse): void | Promise<void> {
    if (stream.destroyed) return;
    const block = this.heads.block(res);
    if (res.body.length === 0) {
      this.responder.respond(stream, block, true, END_STREAM);
      return;
    }
    // The response holds the webroot it started on: a swap mid-download leaves this stream on the old file.
    const webroot = res.body.some((s) => s.kind === 'object') ? res.site!.webroot.acquire() : undefined;
    if (res.bodyLength <= H2_WHOLE_BODY) {
      let body: Buffer | Promise<Buffer>;
      try {
        body = this.ctx.bodies.gather(res);
      } catch (err) {
        webroot?.release();
        throw err;
      }
      const finish = (b: Buffer) => {
        webroot?.release();
        if (stream.destroyed) return;
        this.responder.send(stream, block, b);
      };
      if (!(body instanceof Promise)) return finish(body);
      return body.then(finish, (err: unknown) => {
        webroot?.release();
        throw err;
      });
    }
    stream.respond(block.headers);
    stream.setTimeout(this.ctx.timeouts.sendMs, () => resetStream(stream, http2.constants.NGHTTP2_CANCEL));
    return this.ctx.bodies.pump(stream, res).then(
      (ok) => {
        webroot?.release();
        if (ok && !stream.destroyed) stream.end();
      },
      (err: unknown) => {
        webroot?.release();
        throw err;
      },
    );
  }

  /** Sends GOAWAY to every session: streams in flight finish, no new ones start. */
  drain(): void {
    for (const s of this.sessions.all()) s.close();
  }
}
