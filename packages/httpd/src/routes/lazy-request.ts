/**
 * The Request a route handler gets: a WHATWG Request whose common members
 * (`method`, `url`, `headers`, `body`) are answered without making a real one.
 * Node 20's Request constructor (undici) costs more than node:http's whole
 * request: ~12-20 us here, with an AbortController and Headers per request,
 * against ~0.6 us for the URL this object parses. Every other member (`text()`,
 * `json()`, `signal`, `clone()`, ...) makes the real Request on first use, from
 * the same URL, method, fields and body stream, and acts on it (delegate.ts);
 * `instanceof Request` holds, and `new Request(request)` or `fetch(request)`
 * work as with a real one. The same idea as @hono/node-server's request
 * object; this one is our own, over our own parser's fields.
 */
import { delegateRest } from './delegate.js';

const RealRequest = globalThis.Request;
const PORTABLE = process.env.WEBROOT_PORTABLE_ROUTES === '1';
/** Methods the Fetch standard normalises to upper case (https://fetch.spec.whatwg.org/#concept-method-normalize). */
const NORMALISED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Forbidden methods (https://fetch.spec.whatwg.org/#forbidden-method): a Request cannot have them. */
const FORBIDDEN = new Set(['CONNECT', 'TRACE', 'TRACK']);

export class LazyRequest {
  readonly #url: string;
  readonly #method: string;
  readonly #fields: () => [string, string][];
  readonly #body: ReadableStream<Uint8Array> | null;
  #headers: Headers | undefined;
  #real: Request | undefined;

  /** Throws a TypeError for what a Request refuses (an invalid URL, a forbidden method), as `new Request` would. */
  /** `fields`: the request's field lines, split from the head only if something asks (headers, or the real Request). */
  constructor(url: string, method: string, fields: () => [string, string][], body: ReadableStream<Uint8Array> | null) {
    this.#url = new URL(url).href;
    const upper = method.toUpperCase();
    if (FORBIDDEN.has(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
    this.#method = NORMALISED.has(upper) ? upper : method;
    this.#fields = fields;
    this.#body = body;
  }

  get method(): string {
    return this.#method;
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers;
    return (this.#headers ??= new Headers(this.#fields()));
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#real !== undefined ? this.#real.body : this.#body;
  }

  /** The real Request, made once; the Headers a handler already holds are its fields. */
  static materialize(self: LazyRequest): Request {
    if (self.#real !== undefined) return self.#real;
    const init: RequestInit & { duplex?: 'half' } = { method: self.#method, headers: self.#headers ?? self.#fields() };
    if (self.#body !== null) {
      init.body = self.#body;
      init.duplex = 'half';
    }
    self.#real = new RealRequest(self.#url, init);
    return self.#real;
  }
}

Object.setPrototypeOf(LazyRequest.prototype, RealRequest.prototype);
delegateRest(LazyRequest.prototype, RealRequest, new RealRequest('http://probe.invalid/', { method: 'POST', body: 'x' }), new Set(['method', 'url', 'headers', 'body']), (self) => LazyRequest.materialize(self as LazyRequest) as unknown as Record<string | symbol, unknown>);

/** A handler's Request for these parts: the lightweight one, or with WEBROOT_PORTABLE_ROUTES=1 a real one (the tests run both). */
export function makeRouteRequest(url: string, method: string, fields: () => [string, string][], body: ReadableStream<Uint8Array> | null): Request {
  if (PORTABLE) {
    const headers = fields();
    return new RealRequest(url, body === null ? { method, headers } : ({ method, headers, body, duplex: 'half' } as RequestInit));
  }
  return new LazyRequest(url, method, fields, body) as unknown as Request;
}
