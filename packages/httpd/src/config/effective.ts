import { stringify } from 'smol-toml';
import type { HttpdConfig } from '../config.js';
import { formatAddress } from './address.js';
import { effectiveRouteKeys } from './route-keys.js';
import { allListeners } from './listeners.js';

const seconds = (ms: number) => ms / 1000;

/** The configuration in the file's own shape, every default filled in (what `httpd check-config` prints). */
export function effectiveFile(c: HttpdConfig): Record<string, unknown> {
  return {
    vhosts: c.vhostsDir,
    io: c.io,
    workers: c.workers,
    cache_size: c.cacheBytes,
    cache_control: c.cacheControl,
    autoindex: c.autoindex,
    log_level: c.logLevel,
    rescan_interval: seconds(c.rescanIntervalMs),
    watch: c.watch,
    ...(c.admin ? { admin: formatAddress(c.admin) } : {}),
    listen: allListeners(c).map((l) => ({ address: formatAddress(l), tls: l.tls })),
    ...(c.certsDir !== undefined ? { tls: { certs: c.certsDir, redirect_http: c.redirectHttp ?? false, ...(c.hstsSeconds !== undefined ? { hsts: c.hstsSeconds } : {}) } } : {}),
    ...(c.acme !== undefined ? { acme: { directory: c.acme.directoryUrl, email: c.acme.email, agree_tos: true, state: c.acme.stateDir, retry: seconds(c.acme.retryMs) } } : {}),
    timeouts: { header: seconds(c.headerTimeoutMs), keepalive: seconds(c.keepAliveTimeoutMs), send: seconds(c.sendTimeoutMs), drain: seconds(c.drainTimeoutMs) },
    ...(c.accessLog !== undefined ? { access_log: { path: c.accessLog, format: c.accessLogFormat ?? 'combined' } } : {}),
    host: (c.hosts ?? []).map((h) => ({
      name: h.name,
      aliases: h.aliases,
      ...(h.cacheControl !== undefined ? { cache_control: h.cacheControl } : {}),
      ...(h.autoindex !== undefined ? { autoindex: h.autoindex } : {}),
      ...(h.accessLog !== undefined ? { access_log: h.accessLog } : {}),
    })),
    mount: (c.mounts ?? []).map((m) => ({ host: m.host, prefix: m.prefix, webroot: m.webroot })),
    ...effectiveRouteKeys(c),
  };
}

export function effectiveToml(c: HttpdConfig): string {
  const doc = effectiveFile(c);
  // An empty array of tables cannot be written in TOML: leave it out.
  for (const k of ['host', 'mount', 'route']) if ((doc[k] as unknown[]).length === 0) delete doc[k];
  return `${stringify(doc)}\n`;
}
