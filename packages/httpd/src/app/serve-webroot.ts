/**
 * serveWebroot: one webroot file as a (req, res, next) middleware for
 * node:http, connect, express and polka, with httpd's behaviour for the same
 * request. The pipeline is httpd's own: resolve (resolveMounted over
 * resolvePath), represent, then the body from a BodySource (object cache or
 * the IO mode's executor), written into node's ServerResponse.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SMALL_BODY } from '../server/connection.js';
import { nowSeconds } from '../http/dates.js';
import { responseFields } from '../http/fields.js';
import { RepresentationCache } from '../http/representation-cache.js';
import { errorResponse, representResource } from '../http/represent.js';
import type { HttpResponse, RequestInfo } from '../http/response.js';
import { parseTarget } from '../http/target.js';
import { BodySource } from '../io/body-source.js';
import { executorFor, IO_MODES, type IoMode } from '../io/executors.js';
import { ObjectCache } from '../io/object-cache.js';
import { parseSize } from '../config.js';
import { createLogger, errorFields } from '../log.js';
import { WatchedWebroot, type LogSink } from '../vhosts/watched-file.js';
import { normaliseMount, resolveMounted } from './resolve-mounted.js';

export interface ServeWebrootOptions {
  /** A path the webroot does not have calls `next()` (true, the default), or is answered 404 with the site's /404.html (false). */
  fallthrough?: boolean;
  /** Cache-Control sent with files; '' sends none. Default 'no-cache', as httpd. */
  cacheControl?: string;
  /** Serve the webroot below this path of the request ('/static': /static/a.css is the webroot's /a.css). Default '/'. */
  prefix?: string;
  /** How bytes are read: 'sync' (default), 'stream' or 'async', as httpd's --io. */
  io?: IoMode;
  /** Memory for small hot objects: bytes, or a size like '32M' (the default); 0 turns the cache off. */
  cacheSize?: number | string;
  /** HTML listings for directories without index.html (off by default). */
  autoindex?: boolean;
  /** Watch the file (or symlink) and swap in a new version, as httpd does a vhost entry. Default true. */
  watch?: boolean;
  /** How often the file is re-checked besides watch events, in ms (default 1000; 0: only on watch events and `check()`). */
  checkIntervalMs?: number;
  /** Where swaps, refused files and failed responses are reported; default: JSON lines on stderr at warn and above. */
  logger?: LogSink;
  /**
   * Called when reading a body fails. Default: a 500 when nothing was sent yet,
   * else the connection is closed; the error is logged either way.
   */
  onError?: (err: Error, req: IncomingMessage, res: ServerResponse) => void;
}

/** The `next` of connect/express/polka; called with no argument when the webroot does not have the path. */
export type NextFunction = (err?: unknown) => void;

export interface WebrootMiddleware {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** The path given: the webroot file, or a symlink to it. */
  readonly file: string;
  /** Re-checks the file now and swaps in a changed one; true when it swapped. */
  check(): boolean;
  /** Stops watching; the file closes when its last response ends. */
  close(): void;
}

function optionError(message: string): TypeError {
  return new TypeError(`serveWebroot: ${message}`);
}

/** Options checked once, when the middleware is made: a mistake fails there, not on the first request. */
function validate(options: ServeWebrootOptions) {
  const io = options.io ?? 'sync';
  if (!IO_MODES.includes(io)) throw optionError(`io must be one of ${IO_MODES.join(', ')}; got ${JSON.stringify(io)}`);
  const size = options.cacheSize ?? 32 * 1024 * 1024;
  const cacheBytes = typeof size === 'number' ? (Number.isInteger(size) && size >= 0 ? size : undefined) : parseSize(size);
  if (cacheBytes === undefined) throw optionError(`cacheSize must be a whole number of bytes or a size like '64M'; got ${JSON.stringify(size)}`);
  const cacheControl = options.cacheControl ?? 'no-cache';
  if (typeof cacheControl !== 'string' || /[\r\n]/.test(cacheControl)) throw optionError('cacheControl must be a string without line breaks');
  const mount = normaliseMount(options.prefix ?? '/');
  if (mount === undefined) throw optionError(`prefix must be a path like '/static'; got ${JSON.stringify(options.prefix)}`);
  const interval = options.checkIntervalMs ?? 1000;
  if (!Number.isFinite(interval) || interval < 0) throw optionError('checkIntervalMs must be a number of milliseconds, 0 or more');
  return { io, cacheBytes, cacheControl, mount, interval };
}

/** responseFields as writeHead's flat [name, value, name, value, ...] array. */
function flatFields(r: HttpResponse): string[] {
  const out: string[] = [];
  for (const [name, value] of responseFields(r)) out.push(name, value);
  return out;
}

/** The request as resolve and represent read it. */
function requestInfo(req: IncomingMessage, target: string): RequestInfo {
  const h = req.headers;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
  const authority = h.host ?? one(h[':authority']);
  return {
    method: req.method ?? 'GET',
    target,
    authority,
    hostCount: authority === undefined ? 0 : 1,
    minor: req.httpVersionMajor >= 2 ? 1 : req.httpVersionMinor,
    scheme: (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http',
    acceptEncoding: h['accept-encoding'],
    range: h.range,
    ifRange: one(h['if-range']),
    ifMatch: h['if-match'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
    ifUnmodifiedSince: h['if-unmodified-since'],
  };
}

/**
 * The target and mount as seen from the client. express and connect strip the
 * path an app is mounted at from req.url (keeping req.originalUrl, and
 * express req.baseUrl): the whole target is used instead, below baseUrl + prefix,
 * so that redirects carry the whole path and /static redirects to /static/.
 */
function targetOf(req: IncomingMessage, mount: string): { target: string; mount: string } {
  const url = req.url ?? '/';
  const { baseUrl, originalUrl } = req as { baseUrl?: unknown; originalUrl?: unknown };
  if (typeof baseUrl !== 'string' || baseUrl === '' || typeof originalUrl !== 'string') return { target: url, mount };
  const base = parseTarget(baseUrl);
  if (base.kind !== 'path' || base.path === '/') return { target: url, mount };
  const joined = normaliseMount(`${base.path}${mount === '/' ? '' : mount}`);
  return joined === undefined ? { target: url, mount } : { target: originalUrl, mount: joined };
}

/** The two halves of the middleware, for adapters (the fastify plugin) that must know before they write. */
export interface WebrootResponder {
  decide(req: IncomingMessage, canPass: boolean): HttpResponse | 'pass';
  send(res: ServerResponse, r: HttpResponse, req: IncomingMessage): void;
  readonly file: string;
  check(): boolean;
  close(): void;
}

export function webrootResponder(file: string, options: ServeWebrootOptions = {}): WebrootResponder {
  const { io, cacheBytes, cacheControl, mount, interval } = validate(options);
  const log: LogSink = options.logger ?? createLogger('warn');
  const fallthrough = options.fallthrough !== false;
  const resolveConfig = { autoindex: options.autoindex === true };
  const representConfig = { cacheControl };
  const watched = new WatchedWebroot(file, log);
  if (options.watch !== false) watched.watch(interval);
  const bodies = new BodySource(new ObjectCache(cacheBytes), executorFor(io));
  const heads = new RepresentationCache(flatFields);

  const fail = (err: Error, req: IncomingMessage, res: ServerResponse) => {
    log.log('error', 'request-failed', { method: req.method, target: req.url, ...errorFields(err), stack: err.stack });
    if (options.onError) {
      options.onError(err, req, res);
      return;
    }
    if (!res.headersSent && !res.destroyed) send(res, errorResponse(500, { isHead: req.method === 'HEAD' }), req);
    else res.destroy();
  };

  const send = (res: ServerResponse, r: HttpResponse, req: IncomingMessage) => {
    // The fields as one flat array for writeHead, cached per stored representation like httpd's HTTP/1.1 heads;
    // writeHead keeps fields an earlier middleware set (ours win on a clash), and repeated names (from _headers).
    const fields = heads.get(r);
    if (r.body.length === 0) {
      res.writeHead(r.status, fields);
      res.end();
      return;
    }
    // The response holds the webroot it started on: a swap meanwhile retires it, and it closes after this ends.
    const webroot = r.body.some((s) => s.kind === 'object') ? r.site!.webroot.acquire() : undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      webroot?.release();
    };
    try {
      if (bodies.gathers(r, SMALL_BODY)) {
        const out = bodies.gather(r);
        if (!(out instanceof Promise)) {
          // Read at once (sync mode, or the object cache): no listener, no closure kept past this call.
          release();
          res.writeHead(r.status, fields);
          res.end(out);
          return;
        }
        res.once('close', release);
        out.then(
          (b) => {
            release();
            res.writeHead(r.status, fields);
            res.end(b);
          },
          (err: Error) => {
            release();
            fail(err, req, res);
          },
        );
        return;
      }
      res.once('close', release);
      res.writeHead(r.status, fields);
      bodies.pump(res, r).then(
        (ok) => {
          release();
          if (ok) res.end();
        },
        (err: Error) => {
          release();
          fail(err, req, res);
        },
      );
    } catch (err) {
      release();
      fail(err as Error, req, res);
    }
  };

  /** The response to `req`, or 'pass' when it is the app's (`canPass`: there is a next handler to give it to). */
  const decide = (req: IncomingMessage, canPass: boolean): HttpResponse | 'pass' => {
    try {
      const seen = targetOf(req, mount);
      const info = requestInfo(req, seen.target);
      const outcome = resolveMounted(info, watched.current, seen.mount, resolveConfig);
      if (outcome.kind === 'pass') return canPass ? 'pass' : errorResponse(404, { isHead: info.method === 'HEAD' });
      if (outcome.kind === 'missing' && fallthrough && canPass) return 'pass';
      return representResource(outcome.resource, info, representConfig, nowSeconds());
    } catch (err) {
      log.log('error', 'request-failed', { method: req.method, target: req.url, ...errorFields(err), stack: (err as Error).stack });
      return errorResponse(500, { isHead: req.method === 'HEAD' });
    }
  };

  return { decide, send, file, check: () => watched.check(), close: () => watched.close() };
}

/**
 * Makes the middleware. Opens and validates `file` now: a missing or bad file
 * throws the reader's error (its `code` is a WEBROOT_* code), so an app fails at
 * start-up rather than on its first request.
 */
export function serveWebroot(file: string, options: ServeWebrootOptions = {}): WebrootMiddleware {
  const responder = webrootResponder(file, options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => {
    const r = responder.decide(req, next !== undefined);
    if (r === 'pass') next!();
    else responder.send(res, r, req);
  };
  return Object.assign(middleware, { file, check: responder.check, close: responder.close });
}
