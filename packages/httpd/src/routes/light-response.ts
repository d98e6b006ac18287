/**
 * A lightweight global `Response` for the worker processes that run routes.
 * `new Response('text')` in Node 20 (undici) costs ~25 us here, more than
 * node:http's whole request, mostly for the body's ReadableStream; a handler
 * makes one per request. So, like @hono/node-server (which replaces the
 * globals by default), a worker with routes replaces `globalThis.Response`
 * before it imports their modules with this class: made from a string, bytes
 * or nothing, with a plain `init`, it keeps the parts and the server writes
 * them as they are (`lightParts`); every other member (`body`, `text()`,
 * `clone()`, ...) makes the real Response on first use and acts on it
 * (delegate.ts). `instanceof Response` holds both ways (for real ones from
 * `fetch()` too), subclasses work, and a body or init the fast form does not
 * cover (a stream, a Blob, FormData, an init that is not a plain object) makes
 * the real Response at once, with its own checks and errors.
 * WEBROOT_PORTABLE_ROUTES=1 leaves the globals alone.
 */
import { delegateRest } from './delegate.js';

/** Node's own Response class, whatever the global is later. */
export const RealResponse: typeof globalThis.Response = globalThis.Response;
/** Statuses that cannot have a body (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const TEXT_TYPE = 'text/plain;charset=UTF-8';
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What the server writes for a light Response that was never made real. */
export interface LightParts {
  status: number;
  /** The handler's fields; undefined: none given. */
  headers: Headers | undefined;
  /** The Content-Type the body implies when `headers` has none (a string's text/plain), else undefined. */
  defaultType: string | undefined;
  /** null: no body. */
  body: string | Uint8Array | null;
}

function plainInit(init: unknown): init is { status?: number; statusText?: string; headers?: ConstructorParameters<typeof Headers>[0] } {
  if (init === undefined) return true;
  if (typeof init !== 'object' || init === null || Object.getPrototypeOf(init) !== Object.prototype) return false;
  for (const k in init) if (k !== 'status' && k !== 'statusText' && k !== 'headers') return false;
  const { status, statusText } = init as { status?: unknown; statusText?: unknown };
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599)) return false;
  return statusText === undefined || (typeof statusText === 'string' && REASON_PHRASE.test(statusText));
}

export class LightResponse {
  #status = 200;
  #statusText = '';
  #headers: Headers | undefined;
  #body: string | Uint8Array | null = null;
  #defaultType: string | undefined = undefined;
  #real: Response | undefined;

  constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) {
    const simpleBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (!simpleBody || !plainInit(init) || (body != null && NULL_BODY.has(init?.status ?? 200))) {
      // The real constructor's checks and errors (a RangeError for status 600, a TypeError for a body on 204, ...).
      this.#real = new RealResponse(body, init);
      return;
    }
    this.#status = init?.status ?? 200;
    this.#statusText = init?.statusText ?? '';
    // Headers validates names and values now (a TypeError for a line break), as the real constructor does.
    if (init?.headers !== undefined) this.#headers = new Headers(init.headers);
    // A BufferSource body is a copy of the bytes as they are now (Fetch standard, "extract a body").
    this.#body = body instanceof Uint8Array ? new Uint8Array(body) : (body ?? null);
    // A string body's type (Fetch standard, "extract a body"), set in a Headers object only if someone asks for one.
    if (typeof body === 'string' && !this.#headers?.has('content-type')) {
      if (this.#headers !== undefined) this.#headers.set('content-type', TEXT_TYPE);
      else this.#defaultType = TEXT_TYPE;
    }
  }

  /** Response.json (Fetch standard): the serialised data, `application/json` unless init says otherwise. */
  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new (this as unknown as typeof RealResponse)(text, { ...init, headers });
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(RealResponse, value);
  }

  get status(): number {
    return this.#real !== undefined ? this.#real.status : this.#status;
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s <= 299;
  }

  get statusText(): string {
    return this.#real !== undefined ? this.#real.statusText : this.#statusText;
  }

  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers;
    if (this.#headers === undefined) {
      this.#headers = new Headers(this.#defaultType !== undefined ? { 'content-type': this.#defaultType } : undefined);
      this.#defaultType = undefined;
    }
    return this.#headers;
  }

  /** The parts as given, or undefined when `value` is not a light Response or its real Response exists (then it is written like any real one). */
  static parts(value: unknown): LightParts | undefined {
    if (typeof value !== 'object' || value === null || !(#real in value)) return undefined;
    const self = value as LightResponse;
    if (self.#real !== undefined) return undefined;
    return { status: self.#status, headers: self.#headers, defaultType: self.#defaultType, body: self.#body };
  }

  static materialize(self: LightResponse): Response {
    if (self.#real === undefined) {
      const headers = self.#headers ?? (self.#defaultType !== undefined ? { 'content-type': self.#defaultType } : undefined);
      self.#real = new RealResponse(self.#body, { status: self.#status, statusText: self.#statusText, ...(headers !== undefined ? { headers } : {}) });
    }
    return self.#real;
  }
}

Object.setPrototypeOf(LightResponse, RealResponse);
Object.setPrototypeOf(LightResponse.prototype, RealResponse.prototype);
delegateRest(LightResponse.prototype, RealResponse, new RealResponse('probe'), new Set(['status', 'ok', 'statusText', 'headers']), (self) => LightResponse.materialize(self as LightResponse) as unknown as Record<string | symbol, unknown>);

/** The parts of `value` when it is a light Response never made real; else undefined (write it as a real Response). */
export function lightParts(value: unknown): LightParts | undefined {
  return LightResponse.parts(value);
}

let installed = false;
/** Makes `Response` in this process the light class (a worker with routes, before it imports their modules). */
export function useLightResponses(): boolean {
  if (installed || process.env.WEBROOT_PORTABLE_ROUTES === '1') return installed;
  Object.defineProperty(globalThis, 'Response', { value: LightResponse, writable: true, configurable: true, enumerable: false });
  installed = true;
  return true;
}
