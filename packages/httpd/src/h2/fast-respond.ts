import type http2 from 'node:http2';
import { currentHttpDate } from '../http/dates.js';
import { streamRequests } from '../server/fast-socket.js';

/**
 * `stream.respond` with a header block prebuilt once per cached representation.
 *
 * node:http2's `respond(headers)` copies the object (processHeaders: a for-in over every field, the Date
 * added), then validates every field and joins them into nghttp2's list (mapToHeaders: lower-casing, a Set
 * of single-value names, a check for connection-specific fields, one string per field) on every call,
 * though our header objects are the same for every response of a stored representation. That part alone
 * measured ~3.0 us for a 1 KB 200 (10 fields) and ~2.1 us for its 304 (7 fields) on this machine
 * (lib/internal/http2/util.js, timed under --expose-internals), of the ~35-45 us a small stream costs
 * in all. Here the list is built once (`headerBlock`, validated by the same rules), and a response is
 * what `respond` does after those two steps (lib/internal/http2/core.js, ServerHttp2Stream.prototype.respond,
 * Node 20): refresh the timers, record the sent headers, mark the stream's headers sent, `end()` a bodiless
 * one, and hand the list to the native stream (`[kHandle].respond(list, options)`).
 *
 * Node internals, feature-checked: the stream's own symbols `state` and `kHandle`, `kUpdateTimer` on its
 * prototype, and `sent-headers` learnt from the first stream answered by the public `respond`. After every
 * fast response, `stream.headersSent` (node's public getter of the same flag) must be true, or this path
 * turns itself off for good. Until everything is found, and with WEBROOT_PORTABLE_SOCKETS=1, every
 * response goes through `stream.respond`.
 *
 * `send` goes one step further for a whole small body: it hands the body and END_STREAM to the native
 * stream instead of node's Writable (`end(buffer)`), which was about 4 us of the 1 KB stream's ~60 (perf:
 * packages/httpd/README.md, "Where the time went over HTTP/2 (issue 10, session 7)").
 */

/** The header object of a representation and, when every field passes node's rules, its nghttp2 list. */
export interface H2Block {
  /** What `stream.respond` takes (the fallback, and `stream.sentHeaders` on the fast path). */
  readonly headers: http2.OutgoingHttpHeaders;
  /** `name\0value\0flags` per field, pseudo-headers first (node's mapToHeaders format), without Date. */
  readonly list: string | undefined;
  readonly count: number;
}

// lib/internal/http2/core.js and src/node_http2.h, Node 20: STREAM_FLAGS_HEADERS_SENT, STREAM_OPTION_EMPTY_PAYLOAD.
const STREAM_FLAGS_HEADERS_SENT = 0x4;
const STREAM_OPTION_EMPTY_PAYLOAD = 0x1;
/** NGHTTP2_NV_FLAG_NONE as one character (node's kNoHeaderFlags). */
const NO_FLAGS = '\0';

/**
 * RFC 9113 section 8.2.2: connection-specific fields, which an HTTP/2 message must not carry (Connection,
 * Proxy-Connection, Keep-Alive, Transfer-Encoding, Upgrade), and the request-only TE and HTTP2-Settings
 * (TE: RFC 9110 section 10.1.4; HTTP2-Settings: RFC 7540 section 3.2.1): the fields node's respond()
 * refuses (isIllegalConnectionSpecificHeader). serialize-h2.ts drops them from a response; a header
 * object holding one is not prebuilt here.
 */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'upgrade', 'http2-settings', 'te', 'transfer-encoding', 'proxy-connection', 'keep-alive']);
/** A lower-case field name (RFC 9110 section 5.1 token; RFC 9113 section 8.2.1: lower case over HTTP/2). */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** A field value as nghttp2 takes it: no NUL (the list's separator), CR or LF (RFC 9113 section 8.2.1). */
const BAD_VALUE = /[\0\r\n]/;

/**
 * The nghttp2 list of `headers` in node's format, or undefined when a field is not one node would pass
 * unchanged (then the public `respond` validates and sends it). Date is left out: it is added per second.
 */
export function headerBlock(headers: http2.OutgoingHttpHeaders): H2Block {
  let pseudo = '';
  let fields = '';
  let count = 0;
  let ok = true;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value) || name === 'date') {
      ok = false;
      break;
    }
    const text = String(value);
    if (BAD_VALUE.test(text)) ok = false;
    else if (name === ':status') pseudo += `${name}\0${text}\0${NO_FLAGS}`;
    else if (!FIELD_NAME.test(name) || CONNECTION_SPECIFIC.has(name)) ok = false;
    else fields += `${name}\0${text}\0${NO_FLAGS}`;
    if (!ok) break;
    count++;
  }
  const status = Number(headers[':status']);
  if (!(status >= 200 && status <= 599)) ok = false;
  return { headers, list: ok ? flat(pseudo + fields) : undefined, count };
}

function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

interface Internals {
  state: symbol;
  handle: symbol;
  updateTimer: symbol;
  sentHeaders: symbol | undefined;
}

type StreamRecord = Record<symbol, unknown>;

/** The stream's internal state object (`stream[kState]`), the parts used here. */
interface StreamState {
  flags: number;
  /** Set by node's shutdownWritable (lib/internal/http2/core.js), which then only calls back. */
  shutdownWritableCalled?: boolean;
}

/** node::http2::Http2Stream as JavaScript sees it (a StreamBase: src/node_http2.cc, src/stream_base.cc). */
interface NativeStream {
  respond(list: [string, number], options: number): number;
  writeBuffer?(req: object, data: Buffer): number;
  shutdown?(req: object): number;
}

/** A write request of ours: `buffer` keeps the body alive while nghttp2 holds a pointer into it. */
interface BodyWrite {
  buffer?: Buffer;
}

/** Where node keeps a stream's internals, or undefined when this Node's streams do not look like that. */
function findInternals(stream: http2.ServerHttp2Stream): Internals | undefined {
  const own = Object.getOwnPropertySymbols(stream);
  const state = own.find((s) => s.description === 'state');
  const handle = own.find((s) => s.description === 'kHandle');
  let updateTimer: symbol | undefined;
  for (let p = Object.getPrototypeOf(stream) as object | null; p !== null && updateTimer === undefined; p = Object.getPrototypeOf(p) as object | null) {
    updateTimer = Object.getOwnPropertySymbols(p).find((s) => s.description === 'kUpdateTimer');
  }
  if (state === undefined || handle === undefined || updateTimer === undefined) return undefined;
  const r = stream as unknown as StreamRecord;
  const st = r[state] as { flags?: unknown } | undefined;
  const h = r[handle] as { respond?: unknown } | undefined;
  if (typeof st?.flags !== 'number' || typeof h?.respond !== 'function' || typeof r[updateTimer] !== 'function') return undefined;
  return { state, handle, updateTimer, sentHeaders: undefined };
}

/**
 * The request objects of native writes when the stream's handle takes them (StreamBase's `writeBuffer` and
 * `shutdown`), or undefined: then bodies go through `end(buffer)`. Whether node's `_final` honours
 * `shutdownWritableCalled` changes only the cost: if it does not, it shuts the native side a second time,
 * which Http2Stream::DoShutdown allows, and waits for 'finish' as it always does.
 */
function requestsOf(stream: http2.ServerHttp2Stream, internals: Internals): ReturnType<typeof streamRequests> {
  const requests = streamRequests();
  const h = (stream as unknown as StreamRecord)[internals.handle] as NativeStream | undefined;
  if (requests === undefined || typeof h?.writeBuffer !== 'function' || typeof h.shutdown !== 'function') return undefined;
  return requests;
}

export class FastRespond {
  /** undefined: not looked for yet; null: this Node cannot (or the path turned itself off). */
  private internals: Internals | null | undefined = process.env.WEBROOT_PORTABLE_SOCKETS === '1' ? null : undefined;
  /** The native write and shutdown requests, once found on a stream (undefined: bodies through `end(buffer)`). */
  private requests: ReturnType<typeof streamRequests>;
  private dateSecondText = '';
  private dateEntry = '';

  /** Whether responses now skip node's per-call header processing. */
  get active(): boolean {
    return this.internals !== null && this.internals !== undefined && this.internals.sentHeaders !== undefined;
  }

  /** Whether whole bodies now go to the native stream with END_STREAM, past the Writable (see `send`). */
  get sendsNatively(): boolean {
    return this.active && this.requests !== undefined;
  }

  /**
   * Sends the response head `block` on `stream` (`endStream`: no body follows), as `stream.respond` would.
   * Goes through `stream.respond` itself whenever the fast path does not apply.
   */
  respond(stream: http2.ServerHttp2Stream, block: H2Block, endStream: boolean, options: http2.ServerStreamResponseOptions | undefined): void {
    const handle = this.head(stream, block, endStream, options);
    if (handle === undefined) return;
    const ret = handle.respond([block.list! + this.date(), block.count + 1], endStream ? STREAM_OPTION_EMPTY_PAYLOAD : 0);
    // As respond does (NghttpError): the stream ends with the error.
    if (ret < 0) stream.destroy(new Error(`nghttp2 refused the response headers (${ret})`));
  }

  /**
   * The whole response: the head `block` and `body`, the last DATA frame carrying END_STREAM, as
   * `respond(headers)` + `end(body)` would send it.
   *
   * `end(body)` costs a Writable write (lib/internal/http2/core.js kWriteGeneric: four closures, a
   * nextTick that then shuts the writable side, a WriteWrap, the stream's write accounting), a JavaScript
   * callback from C++ once nghttp2 has sent the data (onWriteComplete), and `_final`'s shutdownWritable
   * (a ShutdownWrap, then a 'finish' listener made per stream). Here, for a request that has ended
   * (`endAfterHeaders`: nothing more can arrive that the stream must wait for), the body goes to the native
   * stream's queue with `writeBuffer` and a write request that has no `oncomplete` (C++ calls none then:
   * ReportWritesToJSStreamListener::OnStreamAfterReqFinished, src/stream_base.cc), the native `shutdown`
   * marks it the last data (nghttp2 sets END_STREAM on the DATA frame that empties the queue,
   * Http2Stream::Provider::Stream::OnRead), and `end()` only ends the Writable: with node's
   * `shutdownWritableCalled` set, `_final` just calls back. A stream reset meanwhile cancels the queued
   * write in C++ (Http2Stream::Destroy), which reports to no one.
   */
  send(stream: http2.ServerHttp2Stream, block: H2Block, body: Buffer): void {
    const requests = this.requests;
    if (requests === undefined || stream.endAfterHeaders !== true || stream.writableLength !== 0 || stream.writableEnded) {
      this.respond(stream, block, false, undefined);
      if (!stream.destroyed) stream.end(body);
      return;
    }
    const handle = this.head(stream, block, false, undefined);
    if (handle === undefined) {
      if (!stream.destroyed) stream.end(body);
      return;
    }
    let ret = handle.respond([block.list! + this.date(), block.count + 1], 0);
    if (ret >= 0 && body.length > 0) {
      const write = new requests.WriteWrap() as BodyWrite;
      write.buffer = body;
      ret = handle.writeBuffer!(write, body);
    }
    // 1: done at once (node_http2.cc, Http2Stream::DoShutdown); 0 would be a shutdown reported later, to no one.
    if (ret >= 0) ret = handle.shutdown!(new requests.ShutdownWrap());
    if (ret < 0) {
      stream.destroy(new Error(`nghttp2 refused the response (${ret})`));
      return;
    }
    this.endWritable(stream);
  }

  /**
   * The fast path's part of a response before the native call: timers, the sent headers, the headers-sent
   * flag, and for `endStream` the Writable ended. Undefined when it went through `stream.respond` instead.
   */
  private head(stream: http2.ServerHttp2Stream, block: H2Block, endStream: boolean, options: http2.ServerStreamResponseOptions | undefined): NativeStream | undefined {
    const internals = this.internals;
    if (internals === undefined || internals === null || internals.sentHeaders === undefined || block.list === undefined || !this.applies(stream, block, endStream)) {
      stream.respond(block.headers, options);
      if (internals === undefined || (internals !== null && internals.sentHeaders === undefined)) this.learn(stream);
      return undefined;
    }
    const r = stream as unknown as StreamRecord;
    const state = r[internals.state] as StreamState;
    (r[internals.updateTimer] as () => void).call(stream);
    r[internals.sentHeaders] = block.headers;
    state.flags |= STREAM_FLAGS_HEADERS_SENT;
    if (!stream.headersSent) {
      // This Node keeps the flag elsewhere: undo, and never again.
      state.flags &= ~STREAM_FLAGS_HEADERS_SENT;
      this.internals = null;
      this.requests = undefined;
      stream.respond(block.headers, options);
      return undefined;
    }
    // A header-only response is sent with END_STREAM and no data provider (STREAM_OPTION_EMPTY_PAYLOAD):
    // the native stream has nothing to shut, so only the Writable ends.
    if (endStream) {
      if (this.requests !== undefined && stream.endAfterHeaders === true && !stream.writableEnded) this.endWritable(stream);
      else stream.end();
    }
    return r[internals.handle] as NativeStream;
  }

  /**
   * `end()` of a stream whose request has ended and whose native side has been shut (or needs none): node's
   * shutdownWritable only calls back.
   */
  private endWritable(stream: http2.ServerHttp2Stream): void {
    ((stream as unknown as StreamRecord)[this.internals!.state] as StreamState).shutdownWritableCalled = true;
    stream.end();
    // end() did not end it: this Node's Writable or _final is not what this expects; never again.
    if (!stream.writableEnded) this.requests = undefined;
    // The request has ended (END_STREAM came with its HEADERS): reading now lets its 'end' come on the next
    // tick, so node destroys the stream as soon as nghttp2 closes it (onStreamClose: `!stream.readable`)
    // instead of then adding an 'end' listener, resuming the stream and waiting two more ticks for 'end'.
    stream.read(0);
  }

  /** What `respond` would check or decide differently: a stream already answered or closed, a bodiless status or HEAD without endStream. */
  private applies(stream: http2.ServerHttp2Stream, block: H2Block, endStream: boolean): boolean {
    if (stream.destroyed || stream.closed || stream.headersSent) return false;
    if (endStream) return true;
    const status = block.headers[':status'];
    // headRequest: node's getter of the HEAD flag, not in @types/node.
    return status !== 204 && status !== 205 && status !== 304 && (stream as { headRequest?: boolean }).headRequest !== true;
  }

  /** After a public `respond`: where it put the sent headers (the last internal it takes). */
  private learn(stream: http2.ServerHttp2Stream): void {
    const internals = this.internals ?? findInternals(stream);
    if (internals === undefined || internals === null) {
      this.internals = null;
      return;
    }
    const sent = Object.getOwnPropertySymbols(stream).find((s) => s.description === 'sent-headers');
    if (sent === undefined || (stream as unknown as StreamRecord)[sent] !== stream.sentHeaders) {
      this.internals = null;
      return;
    }
    internals.sentHeaders = sent;
    this.internals = internals;
    this.requests = requestsOf(stream, internals);
  }

  /** The Date field's entry (node adds the same IMF-fixdate in processHeaders), rebuilt once a second. */
  private date(): string {
    const text = currentHttpDate();
    if (text !== this.dateSecondText) {
      this.dateSecondText = text;
      this.dateEntry = flat(`date\0${text}\0${NO_FLAGS}`);
    }
    return this.dateEntry;
  }
}
