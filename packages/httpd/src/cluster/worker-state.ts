import type { HttpdConfig } from '../config.js';
import type { RequestHead } from '../http/parse-request.js';
import { errorFields, type Logger } from '../log.js';
import { WorkerMetrics, type WorkerReport } from '../metrics/worker-metrics.js';
import { AccessLogs, type AccessLogOptions } from '../server/access-log.js';
import type { Peer } from '../server/context.js';
import type { HttpServer, HttpServerOptions } from '../server/http-server.js';
import { ConfiguredSites } from '../vhosts/configured-sites.js';
import { MountRegistry } from '../vhosts/mount-registry.js';
import { VhostRegistry } from '../vhosts/registry.js';
import type { Site } from '../vhosts/site.js';

/**
 * Everything a worker builds from its configuration: the vhost registry, the
 * mount registry, the sites as configured (aliases, per-host settings,
 * mounts), the access logs and the metrics. `apply(next)` builds what changed
 * and swaps it into the server in one synchronous step, then closes what it
 * replaced (retired webroots close when their last response ends).
 */
export class WorkerState {
  registry: VhostRegistry;
  mounts: MountRegistry | undefined;
  sites: ConfiguredSites;
  logs: AccessLogs | undefined;
  readonly metrics = new WorkerMetrics();
  /** Swaps counted by registries that a reload replaced. */
  private readonly pastSwaps = { loaded: 0, refused: 0 };
  private server?: HttpServer;

  constructor(
    public config: HttpdConfig,
    private readonly log: Logger,
  ) {
    this.registry = this.newRegistry(config);
    this.mounts = this.newMounts(config);
    this.sites = new ConfiguredSites(this.registry, this.mounts, config.hosts ?? [], config.mounts ?? []);
    this.logs = this.newLogs(config);
  }

  /** The options of the HTTP server this state drives. */
  serverOptions(): Pick<HttpServerOptions, 'sites' | 'plan' | 'timeouts' | 'cacheBytes' | 'accessLog'> {
    const c = this.config;
    return {
      sites: this.sites,
      plan: { cacheControl: c.cacheControl, autoindex: c.autoindex },
      timeouts: { headerMs: c.headerTimeoutMs, keepAliveMs: c.keepAliveTimeoutMs, sendMs: c.sendTimeoutMs },
      cacheBytes: c.cacheBytes,
      accessLog: this.observe,
    };
  }

  attach(server: HttpServer): void {
    this.server = server;
  }

  /** Every response: the metrics, then the access log. */
  private readonly observe = (socket: Peer, head: RequestHead | null, status: number, bytes: number, site: Site | undefined, durationMs: number, nowMs?: number): void => {
    this.metrics.record(head, status, bytes, site, durationMs);
    this.logs?.write(socket, head, status, bytes, site, durationMs, nowMs);
  };

  private newRegistry(c: HttpdConfig): VhostRegistry {
    const r = new VhostRegistry(c.vhostsDir, this.log);
    r.rescan();
    r.watch(c.rescanIntervalMs, c.watch);
    return r;
  }

  private newMounts(c: HttpdConfig): MountRegistry | undefined {
    if (!c.mounts || c.mounts.length === 0) return undefined;
    const m = new MountRegistry(c.mounts, this.log);
    m.rescan();
    m.watch(c.rescanIntervalMs, c.watch);
    return m;
  }

  private logOptions(c: HttpdConfig): AccessLogOptions {
    return {
      path: c.accessLog,
      format: c.accessLogFormat ?? 'combined',
      hosts: (c.hosts ?? []).filter((h) => h.accessLog !== undefined).map((h) => ({ names: [h.name, ...h.aliases], path: h.accessLog! })),
    };
  }

  private newLogs(c: HttpdConfig): AccessLogs | undefined {
    const logs = new AccessLogs(this.logOptions(c), (file, err) => this.log.log('error', 'access-log-failed', { file, ...errorFields(err) }));
    return logs.enabled ? logs : undefined;
  }

  /** Applies a validated configuration (restart-only settings were already kept by the primary). */
  apply(next: HttpdConfig): void {
    const prev = this.config;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const oldRegistry = this.registry;
    const oldMounts = this.mounts;
    const oldLogs = this.logs;
    if (next.vhostsDir !== prev.vhostsDir || next.watch !== prev.watch || next.rescanIntervalMs !== prev.rescanIntervalMs) this.registry = this.newRegistry(next);
    if (!same(next.mounts, prev.mounts) || next.watch !== prev.watch || next.rescanIntervalMs !== prev.rescanIntervalMs) this.mounts = this.newMounts(next);
    if (!same(this.logOptions(next), this.logOptions(prev))) this.logs = this.newLogs(next);
    this.sites = new ConfiguredSites(this.registry, this.mounts, next.hosts ?? [], next.mounts ?? []);
    this.config = next;
    this.log.level = next.logLevel;
    // One synchronous step: no request is answered between the old settings and the new.
    this.server?.reconfigure(this.serverOptions());
    if (oldRegistry !== this.registry) this.retire(oldRegistry);
    if (oldMounts !== undefined && oldMounts !== this.mounts) this.retire(oldMounts);
    if (oldLogs !== undefined && oldLogs !== this.logs) void oldLogs.close();
    this.log.log('info', 'config-applied', { file: next.configFile });
  }

  private retire(r: VhostRegistry): void {
    this.pastSwaps.loaded += r.swaps.loaded;
    this.pastSwaps.refused += r.swaps.refused;
    r.close();
  }

  rescan(): void {
    this.registry.rescan();
    this.mounts?.rescan();
  }

  reopenLogs(): void {
    this.logs?.reopen();
  }

  report(): WorkerReport {
    const server = this.server;
    const sites: { host: string; digest: string; created: number }[] = [];
    for (const r of [this.registry, this.mounts]) {
      if (r === undefined) continue;
      for (const [name, site] of r.loaded()) sites.push({ host: name, digest: site.webroot.meta.dataSha256, created: site.webroot.meta.created });
    }
    const swaps = { loaded: this.pastSwaps.loaded + this.registry.swaps.loaded + (this.mounts?.swaps.loaded ?? 0), refused: this.pastSwaps.refused + this.registry.swaps.refused + (this.mounts?.swaps.refused ?? 0) };
    const metrics = this.metrics.toJson({
      inFlight: server?.inFlight ?? 0,
      connections: server?.connectionCount ?? 0,
      cacheHits: server?.cache.hits ?? 0,
      cacheMisses: server?.cache.misses ?? 0,
      cacheBytes: server?.cache.size ?? 0,
      swaps,
      sites,
    });
    const notLoaded = [...this.registry.notLoaded(), ...(this.mounts?.notLoaded() ?? []).map((n) => ({ name: `mount ${n.name}`, reason: n.reason }))];
    return { metrics, notLoaded };
  }

  close(): Promise<void> {
    this.registry.close();
    this.mounts?.close();
    return this.logs?.close() ?? Promise.resolve();
  }
}
