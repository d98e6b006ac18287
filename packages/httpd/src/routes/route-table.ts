/**
 * The dynamic routes of a server: which requests they take (before the static
 * site, for their prefix only), the modules that answer them, and the context
 * each handler gets. Loaded once per worker, before it accepts connections.
 */
import { pathToFileURL } from 'node:url';
import type { Webroot } from '@webroot/format';
import { normaliseHost } from '../http/host.js';
import type { RequestHead } from '../http/parse-request.js';
import type { SiteLookup } from '../http/resolve.js';
import { parseTarget } from '../http/target.js';
import type { Logger, LogLevel } from '../log.js';
import { chooseRoute, type RouteSpec } from './route-spec.js';
import { RouteExchange, type RouteHandOff, type RouteLimits } from './route-exchange.js';
import { makeRouteRequest } from './lazy-request.js';

/** What a handler gets besides the Request. */
export interface RouteContext {
  /** The request's host, normalised (lower case, no port); '' when none was sent (HTTP/1.0). */
  host: string;
  remoteAddress: string | undefined;
  /** The route's prefix, as configured. */
  prefix: string;
  /** Log lines in httpd's log (JSON on stderr), with the route and the message. */
  logger: Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;
  /** The webroot of the request's site (the host's entry, else __default__); undefined when there is none. */
  webroot: Webroot | undefined;
  /** The stored bytes (identity encoding) of a file of the site, or undefined when it has none at that path. */
  readFile(path: string): Buffer | undefined;
}

export type RouteHandler = (request: Request, context: RouteContext) => Response | Promise<Response>;

/** A route module that cannot be used; `message` names the file and what to do. */
export class RouteLoadError extends Error {
  readonly code = 'WEBROOT_ROUTE_UNLOADABLE';
  constructor(
    readonly spec: RouteSpec,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function routeName(spec: RouteSpec): string {
  return `${spec.host ?? ''}${spec.prefix}`;
}

export class RouteTable {
  private readonly handlers: (RouteHandler | undefined)[];
  /** Per route: `limits`, with the route's own settings ([[route]] keys) where it has them. */
  private readonly routeLimits: RouteLimits[];
  /** Per route: its context's logger (route-log lines), made once. */
  private readonly loggers: RouteContext['logger'][];

  constructor(
    readonly specs: readonly RouteSpec[],
    limits: RouteLimits,
    private readonly log: Logger,
    private readonly sites: SiteLookup,
  ) {
    this.handlers = specs.map(() => undefined);
    this.loggers = specs.map((spec) => {
      const route = routeName(spec);
      const line = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => log.log(level, 'route-log', { route, message, ...fields });
      return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
    });
    this.routeLimits = specs.map((s) => ({
      ...limits,
      ...(s.bodyLimit !== undefined ? { bodyLimit: s.bodyLimit } : {}),
      ...(s.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: s.bodyTimeoutMs } : {}),
      ...(s.timeoutMs !== undefined ? { responseTimeoutMs: s.timeoutMs } : {}),
    }));
  }

  /** Imports every module and checks its default export; the first failure rejects with a RouteLoadError. */
  async load(): Promise<void> {
    for (const [i, spec] of this.specs.entries()) {
      let mod: { default?: unknown };
      try {
        mod = (await import(pathToFileURL(spec.module).href)) as { default?: unknown };
      } catch (err) {
        const e = err as Error;
        throw new RouteLoadError(spec, `route ${routeName(spec)}: cannot load ${spec.module}: ${e?.message ?? String(err)}`, { cause: err });
      }
      if (typeof mod.default !== 'function') {
        throw new RouteLoadError(spec, `route ${routeName(spec)}: ${spec.module} has no default export function; export default (request, context) => new Response(...)`);
      }
      this.handlers[i] = mod.default as RouteHandler;
      this.log.log('info', 'route-loaded', { route: routeName(spec), module: spec.module, ...(spec.moduleSha256 ? { sha256: spec.moduleSha256.slice(0, 12) } : {}) });
    }
  }

  /** The head match() last chose a route for, and its parsed target (serve() follows at once). */
  private matched: { head: RequestHead; target: ReturnType<typeof parseTarget> } | undefined;

  /** The route a request belongs to, or -1 (the static site). */
  match(head: RequestHead): number {
    const target = parseTarget(head.target);
    if (target.kind !== 'path') return -1;
    // RFC 9112 section 3.2: an HTTP/1.1 request without exactly one Host is the static path's 400.
    if (head.hostCount > 1 || (head.minor >= 1 && head.headers.host === undefined && target.authority === undefined)) return -1;
    const host = normaliseHost(target.authority ?? head.headers.host ?? '');
    if (host === undefined) return -1; // a bad Host is the static path's 400
    const index = chooseRoute(this.specs, host, target.path);
    if (index !== -1) this.matched = { head, target };
    return index;
  }

  /** Serves one request on route `index`; the connection gets its socket back through `handOff.done`. */
  serve(index: number, handOff: RouteHandOff): void {
    const spec = this.specs[index]!;
    const handler = this.handlers[index]!;
    const head = handOff.head;
    // match() parsed this head just before (the same synchronous step of the connection).
    const target = this.matched?.head === head ? this.matched.target : parseTarget(head.target);
    this.matched = undefined;
    const authority = (target.kind === 'path' ? target.authority : undefined) ?? head.headers.host ?? '';
    const host = normaliseHost(authority) ?? '';
    const context = new Context(host, handOff.socket.remoteAddress, spec.prefix, this.loggers[index]!, this.sites);
    const done = handOff.done;
    // A webroot the handler used stays open for this exchange even if the site is swapped meanwhile.
    handOff.done = (leftover, close, status, bytes) => {
      context.release();
      done(leftover, close, status, bytes);
    };
    const exchange = new RouteExchange(handOff, this.routeLimits[index]!, this.log, routeName(spec));
    exchange.run(
      (body, fields) => {
        const path = target.kind === 'path' ? `${target.rawPath}${target.query}` : '/';
        // The authority passed normaliseHost and the path is visible ASCII: the URL parser checks the rest
        // (and throws for what it refuses: a 400). The Request is lightweight (lazy-request.ts) unless WEBROOT_PORTABLE_ROUTES=1.
        const url = `${handOff.scheme}://${authority === '' ? 'localhost' : authority}${path}`;
        return makeRouteRequest(url, head.method, fields, body);
      },
      (request) => handler(request, context),
    );
  }
}

/**
 * A handler's context. The site's webroot is looked up (and held until the
 * response ends) only when the handler uses `webroot` or `readFile`: most
 * requests do not, and a request holds nothing it does not use.
 */
class Context implements RouteContext {
  #webroot: Webroot | undefined | null = null;

  constructor(
    readonly host: string,
    readonly remoteAddress: string | undefined,
    readonly prefix: string,
    readonly logger: RouteContext['logger'],
    private readonly sites: SiteLookup,
  ) {}

  /** The site's webroot as of the first use in this request. */
  get webroot(): Webroot | undefined {
    if (this.#webroot === null) {
      const site = this.sites.lookup(this.host);
      this.#webroot = site?.kind === 'site' ? site.webroot.acquire() : undefined;
    }
    return this.#webroot;
  }

  readFile(path: string): Buffer | undefined {
    const webroot = this.webroot;
    const entry = webroot?.lookup(path);
    if (webroot === undefined || entry?.kind !== 'file') return undefined;
    const out = Buffer.allocUnsafe(entry.object.length);
    const n = webroot.readSync(entry.object, 0, out.length, out);
    return n === out.length ? out : undefined;
  }

  release(): void {
    if (this.#webroot) this.#webroot.release();
    this.#webroot = undefined;
  }
}
