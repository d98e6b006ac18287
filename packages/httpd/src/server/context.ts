import type net from 'node:net';
import type { ParseLimits } from '../http/parse-request.js';
import type { PlanConfig, SiteLookup } from '../http/plan.js';
import type { RequestHead } from '../http/parse-request.js';
import type { Executor } from '../io/executors.js';
import type { ObjectCache } from '../io/object-cache.js';
import type { Logger } from '../log.js';
import type { Connection } from './connection.js';

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
  plan: PlanConfig;
  limits: ParseLimits;
  timeouts: Timeouts;
  executor: Executor;
  cache: ObjectCache;
  log: Logger;
  accessLog?: (socket: net.Socket, head: RequestHead | null, status: number, bytes: number) => void;
  connections: Set<Connection>;
  draining: () => boolean;
  /** WEBROOT_FAULT_INJECTION=1: see injectFault in connection.ts. */
  faultInjection: boolean;
  /** Header lines added to every response of this listener (HSTS on the TLS listener), each ending in CRLF. */
  extraHeaders?: string;
  /** --redirect-http on the plain listener: the https:// Location for a request, or undefined to serve it. */
  httpsLocation?: (head: RequestHead) => string | undefined;
}
