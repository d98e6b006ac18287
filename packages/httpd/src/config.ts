import type { AcmeConfig } from './acme/acme-options.js';
import type { IoMode } from './io/executors.js';
import type { LogLevel } from './log.js';
import type { FollowSpec } from './follow/follow-options.js';
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
  /** --listen-fd: serve on this inherited listening socket instead of binding (see cluster/socket-activation.ts). */
  listenFds?: number[];
  /** --user/--group: the primary drops to these once its sockets are bound. */
  user?: string;
  group?: string;
  /** --pid-file: the primary's PID, written once it is ready (an upgraded primary rewrites it). */
  pidFile?: string;
  /** --upgrade-timeout: how long a new primary started by SIGUSR2 may take to get ready. */
  upgradeTimeoutMs?: number;
  /** --tls-port: the HTTPS listener (with certsDir); workers are given the bound port in place of 0. */
  tlsPort?: number;
  /** The HTTPS listener's address (the first `[[listen]]` entry with `tls = true`); `host` when absent. */
  tlsHost?: string;
  /** Every `[[listen]]` entry beyond the first plain one (host, port) and the first TLS one (tlsHost, tlsPort): bound by the primary, served by every worker. */
  extraListeners?: ListenerConfig[];
  /** --certs: CERTS_DIR of <host>.crt + <host>.key pairs (see tls/cert-store.ts). */
  certsDir?: string;
  /** --redirect-http: the plain listener answers 308 to https:// for hosts with a certificate. */
  redirectHttp?: boolean;
  /** --hsts: Strict-Transport-Security max-age on HTTPS responses. */
  hstsSeconds?: number;
  /** --acme-*: certificates for every vhost from an ACME CA (acme/); needs tlsPort and certsDir. */
  acme?: AcmeConfig;
  /** From the configuration file (config/load.ts); absent when started from flags only. */
  accessLogFormat?: AccessLogFormat;
  /** The admin listener (/metrics, /healthz, /readyz); off when absent. */
  admin?: { host: string; port: number };
  /** Per-host settings and aliases ([[host]] in the file). */
  hosts?: HostSettings[];
  /** [[mount]]: a webroot served under a path prefix of a host. */
  mounts?: MountConfig[];
  /** The configuration file this came from, for reloads. */
  configFile?: string;
  /** Settings given on the command line, which keep winning over the file on every reload. */
  overrides?: Partial<HttpdConfig>;
  /** Release channels the primary follows (--follow); see follow/. */
  follow?: FollowSpec[];
  /** Where followed releases are kept (--releases), one directory per host. */
  releasesDir?: string;
  /** Releases kept per followed host (--keep). */
  keepReleases?: number;
  /** The GET /status listener (--status). */
  status?: { host: string; port: number };
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

export type AccessLogFormat = 'combined' | 'json';

/** One listening address, plain HTTP or HTTPS (a `[[listen]]` entry). */
export interface ListenerConfig {
  host: string;
  port: number;
  tls: boolean;
}

export interface HostSettings {
  /** Lower case, no trailing dot (as a vhost entry name is compared). */
  name: string;
  aliases: string[];
  cacheControl?: string;
  autoindex?: boolean;
  /** A separate access log for this host (and its aliases). */
  accessLog?: string;
}

export interface MountConfig {
  host: string;
  /** Starts and ends with '/', never '/' itself. */
  prefix: string;
  webroot: string;
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
