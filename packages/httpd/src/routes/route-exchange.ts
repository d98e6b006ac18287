/**
 * One request to a dynamic route, from the head to the last byte of the
 * response: the WHATWG Request (fields, a streamed body), the handler's
 * Response, written as HTTP/1.1 (Content-Length when the body is one chunk,
 * else chunked; close-delimited for HTTP/1.0) with backpressure, and the
 * deadlines: the body must arrive within bodyTimeoutMs (408), the handler must
 * answer within responseTimeoutMs (504), a client that reads nothing for
 * sendTimeoutMs is cut off. A handler that throws or rejects gets a 500 when
 * nothing was sent yet, else the connection is closed; both are logged with
 * the stack.
 */
import type net from 'node:net';
import { currentHttpDate } from '../http/dates.js';
import { writeNow } from '../server/fast-socket.js';
import type { RequestHead } from '../http/parse-request.js';
import { REASONS, statusLine } from '../http/status.js';
import { errorFields, type Logger } from '../log.js';
import { sourceBytes } from './response-source.js';
import { lightParts, RealResponse } from './light-response.js';
import { HIGH_WATER, RequestBody, type BodyFailure } from './request-body.js';

export interface RouteLimits {
  /** Largest request body, decoded (413 past it). */
  bodyLimit: number;
  /** The whole body must arrive within this long of the head (408). */
  bodyTimeoutMs: number;
  /** The handler must return its Response within this long (504). */
  responseTimeoutMs: number;
  /** A client that reads nothing of the response for this long is cut off. */
  sendTimeoutMs: number;
}

/** What the connection hands a route: the request and the socket, until `done`. */
export interface RouteHandOff {
  socket: net.Socket;
  head: RequestHead;
  /** The complete request head as received (every field, which the static path does not keep). */
  headBytes: Buffer;
  /** Bytes read after the head: the start of the body, perhaps pipelined requests. */
  rest: Buffer | null;
  scheme: 'http' | 'https';
  /** Sends later reads to `sink` instead of the connection's parser, until `done`. */
  setSink(sink: ((chunk: Buffer) => void) | undefined): void;
  /** The response is complete: `leftover` bytes (the next request) go back to the connection, which closes if `close`. */
  done(leftover: Buffer | null, close: boolean, status: number, bytes: number): void;
  draining(): boolean;
}

export interface Invocation {
  request: Request;
  /** Resolves to the handler's answer; its deadline is run here. */
  call(request: Request): Promise<unknown>;
  routeName: string;
}

/** Response fields the connection owns (RFC 9112 section 7.6.1 hop-by-hop, and framing). */
const OWN_FIELDS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer', 'date', 'set-cookie']);

class DeadlineError extends Error {}

/** Every field line of a validated head (parse-request.ts checked the syntax), name as sent. */
export function headFields(headBytes: Buffer): [string, string][] {
  const text = headBytes.toString('latin1');
  const lines = text.split('\n');
  const out: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line === '') continue;
    const c = line.indexOf(':');
    if (c <= 0) continue;
    out.push([line.slice(0, c), line.slice(c + 1).trim()]);
  }
  return out;
}

export class RouteExchange {
  private bytesSent = 0;
  private started = false;
  private finished = false;
  private status = 0;
  private body: RequestBody | undefined;
  private bodyTimer: NodeJS.Timeout | undefined;
  private closeAfter: boolean;

  constructor(
    private readonly h: RouteHandOff,
    private readonly limits: RouteLimits,
    private readonly log: Logger,
    private readonly routeName: string,
  ) {
    this.closeAfter = !h.head.keepAlive;
  }

  /** Runs the exchange; `makeRequest` builds the Request (it may throw: 400), `handle` calls the route's handler. */
  run(makeRequest: (body: ReadableStream<Uint8Array> | null, fields: () => [string, string][]) => Request, handle: (request: Request) => unknown): void {
    const { head, socket } = this.h;
    // The fields of the head are split only when something reads them (the handler's request.headers, or Expect below).
    let fieldList: [string, string][] | undefined;
    const fields = () => (fieldList ??= headFields(this.h.headBytes));
    const hasBody = head.chunked || head.contentLength > 0;
    if (hasBody) socket.once('close', this.onClose);
    if (hasBody && head.contentLength > this.limits.bodyLimit) {
      // RFC 9110 section 15.5.14: refuse before reading; the unread body means the connection must close.
      this.h.rest = null;
      return this.sendError(413, true);
    }
    // RFC 9110 section 10.1.1: Expect concerns a request's content; without one, 100-continue means nothing and a
    // server MAY (not must) answer another expectation with 417, so a bodiless request's fields are not searched.
    const expect = hasBody ? fields().find(([n]) => n.toLowerCase() === 'expect')?.[1].toLowerCase() : undefined;
    if (expect !== undefined && expect !== '100-continue') return this.sendError(417, true);
    const method = head.method;
    let stream: ReadableStream<Uint8Array> | null = null;
    if (hasBody) {
      const body = new RequestBody(
        socket,
        { contentLength: head.contentLength, chunked: head.chunked },
        this.limits.bodyLimit,
        () => {
          if (expect === '100-continue' && head.minor >= 1) this.write('HTTP/1.1 100 Continue\r\n\r\n', false);
        },
        (failure) => this.onBodyFailure(failure),
      );
      this.body = body;
      this.h.setSink((chunk) => body.feed(chunk));
      if (this.h.rest !== null) body.feed(this.h.rest);
      this.h.rest = null;
      if (!body.complete) {
        this.bodyTimer = setTimeout(() => body.fail({ kind: 'timeout' }), this.limits.bodyTimeoutMs);
      }
      // The Fetch API refuses a body on GET and HEAD: such a body is not given to the handler (and not read).
      if (method !== 'GET' && method !== 'HEAD') stream = body.stream;
      else this.closeAfter = true;
    } else {
      // Pipelined requests after a bodiless one wait for the connection.
      const rest = this.h.rest;
      this.h.rest = null;
      this.h.setSink((chunk) => {
        this.pipelined = this.pipelined === null ? Buffer.from(chunk) : Buffer.concat([this.pipelined, chunk]);
        if (this.pipelined.length > HIGH_WATER) socket.pause();
      });
      this.pipelined = rest === null ? null : Buffer.from(rest);
    }
    let request: Request;
    try {
      request = makeRequest(stream, fields);
    } catch (err) {
      this.log.log('debug', 'bad-request', { reason: 'not a valid URL for a Request', ...errorFields(err) });
      return this.sendError(400, true);
    }
    const isHead = method === 'HEAD';
    let result: unknown;
    try {
      result = handle(request);
    } catch (err) {
      // Answered after this turn: the connection's loop is still running (its pipelined requests wait for done()).
      void Promise.reject(err).catch((e: unknown) => this.failed(e));
      return;
    }
    // A handler that returned its Response needs no deadline (one that blocks is the watchdog's). It is written after
    // this turn, like every answer: the connection's loop is still running (its pipelined requests wait for done()).
    if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') {
      Promise.resolve(result)
        .then((res) => this.respond(res, isHead))
        .catch((err: unknown) => this.failed(err));
      return;
    }
    const timer = setTimeout(() => this.failed(new DeadlineError()), this.limits.responseTimeoutMs);
    (result as PromiseLike<unknown>).then(
      (res) => {
        clearTimeout(timer);
        return this.respond(res, isHead).catch((err: unknown) => this.failed(err));
      },
      (err: unknown) => {
        clearTimeout(timer);
        this.failed(err);
      },
    );
  }

  private pipelined: Buffer | null = null;

  /** The client went away: a body still arriving fails (a streamed response is cancelled when a write fails). */
  private readonly onClose = () => {
    this.body?.fail({ kind: 'incomplete' });
  };

  private onBodyFailure(failure: BodyFailure): void {
    clearTimeout(this.bodyTimer);
    this.closeAfter = true;
    if (this.finished) return;
    if (failure.kind === 'too-large') this.sendError(413, true);
    else if (failure.kind === 'timeout') this.sendError(408, true);
    else if (failure.kind === 'malformed') this.sendError(400, true);
    // 'incomplete': the client is gone; the handler's read fails and the exchange ends there.
  }

  private failed(err: unknown): void {
    if (this.finished) return;
    if (err instanceof DeadlineError) {
      this.log.log('error', 'route-timeout', { route: this.routeName, method: this.h.head.method, target: this.h.head.target, ms: this.limits.responseTimeoutMs });
      if (!this.started) return this.sendError(504, true);
      return this.end(true);
    }
    this.log.log('error', 'route-failed', { route: this.routeName, method: this.h.head.method, target: this.h.head.target, ...errorFields(err), stack: (err as Error)?.stack });
    if (!this.started && !this.h.socket.destroyed) return this.sendError(500, false);
    this.h.socket.destroy();
    this.end(true);
  }

  private write(data: string | Buffer, counts = true): boolean {
    if (this.h.socket.destroyed) return false;
    if (counts) {
      this.started = true;
      this.bytesSent += typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length;
    }
    return typeof data === 'string' ? this.h.socket.write(data, 'latin1') : this.h.socket.write(data);
  }

  private baseHead(status: number, close: boolean): string {
    this.status = status;
    return `${statusLine(status)}Date: ${currentHttpDate()}\r\nServer: webroot\r\n${close ? 'Connection: close\r\n' : this.h.head.minor === 0 ? 'Connection: keep-alive\r\n' : ''}`;
  }

  private sendError(status: number, close: boolean): void {
    if (this.started || this.finished) return;
    this.closeAfter ||= close;
    this.willClose();
    const text = `${status} ${REASONS[status] ?? ''}\n`;
    const body = this.h.head.method === 'HEAD' ? '' : text;
    this.write(`${this.baseHead(status, this.closeAfter)}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`);
    this.end(this.closeAfter);
  }

  private async respond(value: unknown, isHead: boolean): Promise<void> {
    if (this.finished) return;
    // A light Response (light-response.ts) that was never made real: its parts are written as they are.
    const light = lightParts(value);
    if (light === undefined && !(value instanceof RealResponse)) throw new TypeError(`the handler returned ${value === null ? 'null' : typeof value}, not a Response`);
    const res = value as Response;
    const status = light?.status ?? res.status;
    if (status < 200 || status > 599) throw new RangeError(`the handler returned status ${status}; a route answers with 200-599`);
    const headers = light !== undefined ? light.headers : res.headers;
    let fields = '';
    let contentLength: string | undefined;
    let nosniff = false;
    if (headers !== undefined) {
      for (const [name, v] of headers) {
        if (name === 'content-length') contentLength = v;
        if (name === 'x-content-type-options') nosniff = true;
        if (OWN_FIELDS.has(name)) continue;
        fields += `${name}: ${v}\r\n`;
      }
      for (const c of headers.getSetCookie()) fields += `set-cookie: ${c}\r\n`;
    }
    if (light?.defaultType !== undefined) fields += `content-type: ${light.defaultType}\r\n`;
    if (!nosniff) fields += 'X-Content-Type-Options: nosniff\r\n';
    const noBody = isHead || status === 204 || status === 304;
    if (noBody) {
      if (light === undefined) await res.body?.cancel().catch(() => undefined);
      // HEAD may say the length a GET would have (RFC 9110 section 9.3.2); 204 and 304 carry none (8.6).
      const length = isHead && contentLength !== undefined && /^\d+$/.test(contentLength) ? `Content-Length: ${contentLength}\r\n` : '';
      this.write(`${this.baseHead(status, this.willClose())}${fields}${length}\r\n`);
      return this.complete();
    }
    const whole = light !== undefined ? lightBytes(light.body) : sourceBytes(res);
    if (whole !== undefined) {
      const headText = `${this.baseHead(status, this.willClose())}${fields}Content-Length: ${whole.length}\r\n\r\n`;
      const out = Buffer.allocUnsafe(headText.length + whole.length);
      out.write(headText, 0, 'latin1');
      whole.copy(out, headText.length);
      await this.writeWhole(out);
      return this.complete();
    }
    const reader = res.body?.getReader();
    const first = reader === undefined ? undefined : await this.nextChunk(reader);
    if (first === undefined) {
      this.write(`${this.baseHead(status, this.willClose())}${fields}Content-Length: 0\r\n\r\n`);
      return this.complete();
    }
    const second = await this.nextChunk(reader!);
    if (second === undefined) {
      // One chunk (a string, a Buffer, JSON): Content-Length, head and body in one write.
      const headText = `${this.baseHead(status, this.willClose())}${fields}Content-Length: ${first.length}\r\n\r\n`;
      const out = Buffer.allocUnsafe(headText.length + first.length);
      out.write(headText, 0, 'latin1');
      out.set(first, headText.length);
      await this.writeWhole(out);
      return this.complete();
    }
    // A stream: chunked for HTTP/1.1 (RFC 9112 section 7.1), the connection's end for HTTP/1.0.
    const chunked = this.h.head.minor >= 1;
    if (!chunked) this.closeAfter = true;
    this.write(`${this.baseHead(status, this.willClose())}${fields}${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}\r\n`);
    const send = (chunk: Uint8Array) => {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      return this.drained(this.write(chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), bytes, CRLF]) : bytes));
    };
    // One chunk in flight at most: the next is read from the handler's stream only once the socket took this one.
    let chunk: Uint8Array | undefined = first;
    let next: Uint8Array | undefined = second;
    while (chunk !== undefined) {
      if (!(await send(chunk))) {
        await reader!.cancel().catch(() => undefined);
        return this.end(true);
      }
      chunk = next ?? (await this.nextChunk(reader!));
      next = undefined;
    }
    if (chunked) this.write('0\r\n\r\n');
    this.complete();
  }

  /** The next non-empty chunk, or undefined at the end. A chunk that is not bytes is the handler's error. */
  private async nextChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array | undefined> {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      if (!(value instanceof Uint8Array)) throw new TypeError('a response body stream must yield Uint8Array chunks');
      if (value.length > 0) return value;
    }
  }

  /**
   * A whole response in one write, straight to the socket's handle where the
   * fast paths are on (server/fast-socket.ts); resolves once the kernel has it,
   * or the socket failed, or the client read nothing for sendTimeoutMs.
   */
  private writeWhole(out: Buffer): Promise<void> | void {
    const socket = this.h.socket;
    if (socket.destroyed) return;
    this.started = true;
    this.bytesSent += out.length;
    let resolveDrained: () => void = () => undefined;
    const drained = new Promise<void>((resolve) => (resolveDrained = resolve));
    if (writeNow(socket, out, () => resolveDrained())) return;
    const timer = setTimeout(() => socket.destroy(), this.limits.sendTimeoutMs);
    const onClose = () => resolveDrained();
    socket.once('close', onClose);
    return drained.finally(() => {
      clearTimeout(timer);
      socket.off('close', onClose);
    });
  }

  /** Waits until the socket wants more (backpressure), or fails after sendTimeoutMs without progress. */
  private drained(ok: boolean): Promise<boolean> {
    const socket = this.h.socket;
    if (ok || socket.destroyed) return Promise.resolve(!socket.destroyed);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        resolve(false);
      }, this.limits.sendTimeoutMs);
      const onDrain = () => {
        cleanup();
        resolve(true);
      };
      const onClose = () => {
        cleanup();
        resolve(false);
      };
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('drain', onDrain);
        socket.off('close', onClose);
      };
      socket.on('drain', onDrain);
      socket.on('close', onClose);
    });
  }

  private willClose(): boolean {
    // A body the handler did not read to its end leaves the connection's framing unknown.
    if (this.body !== undefined && !this.body.complete) this.closeAfter = true;
    if (this.h.draining()) this.closeAfter = true;
    return this.closeAfter;
  }

  private complete(): void {
    this.end(this.willClose());
  }

  private end(close: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.bodyTimer);
    this.h.socket.off('close', this.onClose);
    this.h.setSink(undefined);
    const leftover = this.body !== undefined ? this.body.leftover : this.pipelined;
    this.h.done(close ? null : leftover, close || this.closeAfter, this.status, this.bytesSent);
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

function lightBytes(body: string | Uint8Array | null): Buffer {
  if (body === null) return EMPTY;
  return typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
}
