import type { ParseLimits } from '../http/parse-request.js';
import type { RequestHead } from '../http/parse-request.js';
import type { RepresentConfig } from '../http/represent.js';
import type { ResolveConfig, SiteLookup } from '../http/resolve.js';
import type { BodySource } from '../io/body-source.js';
import type { ObjectCache } from '../io/object-cache.js';
import type { HttpResponse, RequestInfo, Resource } from '../http/response.js';
import type { Logger } from '../log.js';
import type { Site } from '../vhosts/site.js';
import type { Connection } from './connection.js';
import type { Http1HeadCache } from './serialize-http1.js';
import type { RouteTable } from '../routes/route-table.js';

/** Who a response went to, for the access log: a net.Socket, or a wire (wire.ts). */
export interface Peer {
  readonly remoteAddress?: string | undefined;
}

export interface Timeouts {
  /** A request head must be complete within this long of its first byte (else 408). */
  headerMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveMs: number;
  /** A response whose client reads nothing for this long is abandoned. */
  sendMs: number;
}

/** What every connection of one server shares. */
export interface ServerContext {
  sites: SiteLookup;
  resolve: ResolveConfig;
  represent: RepresentConfig;
  /** 'https' when the connections come from a TLS listener. */
  scheme: 'http' | 'https';
  limits: ParseLimits;
  timeouts: Timeouts;
  /** Bodies from the object cache or the IO mode's executor. */
  bodies: BodySource;
  /** The object cache itself, for prebuilt whole responses. */
  cache: ObjectCache;
  heads: Http1HeadCache;
  log: Logger;
  /**
   * Called once per response handed over (access logs, metrics): `site` answered it, `durationMs` since its head was
   * parsed (0 for a connection-level error); `nowMs`, when given and not 0, is Date.now() as the caller already read it
   * for this event-loop turn (nginx logs its time cached per event the same way), so the log need not read the clock again.
   */
  accessLog?: (socket: Peer, head: RequestHead | null, status: number, bytes: number, site: Site | undefined, durationMs: number, nowMs?: number) => void;
  connections: Set<Connection>;
  draining: () => boolean;
  /** Dynamic routes, tried before the static site for their prefixes; undefined when none are configured. */
  routes?: RouteTable;
  /** WEBROOT_FAULT_INJECTION=1: see injectFault in connection.ts. */
  faultInjection: boolean;
  /** Applied to every response of this listener before it is serialized (HSTS on the TLS listener). */
  decorate?: (res: HttpResponse) => HttpResponse;
  /** --redirect-http on the plain listener: the redirect to https:// for a request, or undefined to serve it. */
  redirect?: (req: RequestInfo) => Resource | undefined;
}
