import type { IoMode } from './io/executors.js';
import type { LogLevel } from './log.js';
import type { RouteSpec } from './routes/route-spec.js';

/** Everything a worker needs, validated once by the CLI and passed to workers as JSON. */
export interface HttpdConfig {
  vhostsDir: string;
  io: IoMode;
  port: number;
  host: string;
  workers: number;
  cacheBytes: number;
  cacheControl: string;
  autoindex: boolean;
  logLevel: LogLevel;
  accessLog?: string;
  rescanIntervalMs: number;
  /** Use fs.watch as a hint (off: rescan only on the timer and SIGHUP). */
  watch: boolean;
  headerTimeoutMs: number;
  keepAliveTimeoutMs: number;
  sendTimeoutMs: number;
  drainTimeoutMs: number;
  /** Dynamic routes (--route); none when absent. */
  routes?: RouteSpec[];
  /** Largest request body a route accepts, in bytes (--route-body-limit). */
  routeBodyLimit?: number;
  /** A route's request body must arrive within this (--route-body-timeout). */
  routeBodyTimeoutMs?: number;
  /** A route's handler must answer within this (--route-timeout), else 504. */
  routeTimeoutMs?: number;
  /** With routes, the primary kills a worker whose event loop is blocked this long (--watchdog). */
  watchdogMs?: number;
}

/** Defaults of the route settings, shared by the CLI and the workers. */
export const ROUTE_DEFAULTS = { routeBodyLimit: 1024 * 1024, routeBodyTimeoutMs: 30_000, routeTimeoutMs: 30_000, watchdogMs: 10_000 } as const;

export const CONFIG_ENV = 'WEBROOT_HTTPD_CONFIG';

/** Parses sizes like 0, 4096, 512K, 64M, 1G (binary units). */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+)([kmg]i?b?)?$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').charAt(0).toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}
