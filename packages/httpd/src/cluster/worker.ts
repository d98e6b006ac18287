import type { AddressInfo } from 'node:net';
import type { HttpdConfig } from '../config.js';
import { createLogger, errorFields } from '../log.js';
import { HttpServer } from '../server/http-server.js';
import { WorkerTls } from '../tls/worker-tls.js';
import { startLoneAdmin, startLoneReload } from './lone-process.js';
import { WorkerState } from './worker-state.js';
import { WorkerAcme } from '../acme/worker-acme.js';
import type { WorkerReport } from '../metrics/worker-metrics.js';
import type { RequestInfo } from '../http/response.js';
import { ROUTE_DEFAULTS } from '../config.js';
import { RouteTable } from '../routes/route-table.js';
import { useLightResponses } from '../routes/light-response.js';
import type { ListenerConfig } from '../config.js';
import { listenExtraAlone, onExtraListenMessage } from './extra-listeners.js';

export type WorkerMessage =
  | { type: 'listening'; address: string; port: number; tlsPort?: number }
  | { type: 'listen-error'; code: string; message: string }
  | { type: 'report'; id: number; report: WorkerReport }
  // After a rescan the primary asked for: the primary reports READY=1 to systemd once every worker has.
  | { type: 'rescanned' }
  /** A route module failed to load: start-up stops (exit 2). */
  | { type: 'route-error'; message: string }
  /** The event loop is alive (sent only when routes are configured: the primary's watchdog). */
  | { type: 'heartbeat' }
  /** The worker's state is unknown (an uncaught error in a route module): it finishes its responses and exits; start a replacement now. */
  | { type: 'retiring' };

export type PrimaryMessage =
  | { type: 'listen' }
  | { type: 'rescan' }
  /** `idleGraceMs`: see Connection.shutdown (an upgrade hands the sockets on). */
  | { type: 'drain'; idleGraceMs?: number }
  /** A validated configuration from a reload (config/reloader.ts). */
  | { type: 'config'; config: HttpdConfig }
  /** SIGUSR1: reopen access log files. */
  | { type: 'reopen-logs' }
  /** The admin listener wants this worker's metrics and load state. */
  | { type: 'report'; id: number };

/**
 * Runs one serving process: the vhost registry (watching for swaps), the HTTP
 * server, and the handlers that drain it. Supervised (forked by the primary,
 * which sends the listening socket) or alone (`--workers 0`, binds itself).
 */
export function runWorker(config: HttpdConfig, onListening?: (address: AddressInfo, tlsPort?: number, extras?: ListenerConfig[]) => void): void {
  const supervised = process.send !== undefined && process.env.WEBROOT_WORKER_ID !== undefined;
  const log = createLogger(config.logLevel);
  const state = new WorkerState(config, log);
  // The TLS side hands its sockets to the server made just below (called only once listening).
  const acme = config.acme !== undefined && config.tlsPort !== undefined ? new WorkerAcme(log) : undefined;
  const tls: WorkerTls | undefined = config.tlsPort !== undefined ? new WorkerTls(config, log, (): HttpServer => server, acme) : undefined;
  // The plain listener answers ACME's HTTP-01 requests before any redirect or site rule.
  const redirect = acme && tls?.redirect ? (req: RequestInfo) => acme.challengeResource(req) ?? tls.redirect!(req) : (acme?.challengeResource ?? tls?.redirect);
  const routes =
    config.routes !== undefined && config.routes.length > 0
      ? new RouteTable(
          config.routes,
          {
            bodyLimit: config.routeBodyLimit ?? ROUTE_DEFAULTS.routeBodyLimit,
            bodyTimeoutMs: config.routeBodyTimeoutMs ?? ROUTE_DEFAULTS.routeBodyTimeoutMs,
            responseTimeoutMs: config.routeTimeoutMs ?? ROUTE_DEFAULTS.routeTimeoutMs,
            sendTimeoutMs: config.sendTimeoutMs,
          },
          log,
          state.registry,
        )
      : undefined;
  // Route modules are imported before the worker accepts anything; one that fails stops start-up (exit 2).
  // Handlers' `new Response(...)` is the light class in a worker with routes (routes/light-response.ts).
  if (routes !== undefined) useLightResponses();
  const ready = routes === undefined ? Promise.resolve() : routes.load();
  const server: HttpServer = new HttpServer({ ...state.serverOptions(), io: config.io, log, redirect, routes });
  state.attach(server);
  const send = (m: WorkerMessage) => process.send?.(m);

  let draining = false;
  const drain = (why: string, idleGraceMs = 0, exitCode = 0) => {
    if (draining) return;
    draining = true;
    log.log('info', 'draining', { why, connections: server.connectionCount });
    tls?.close();
    server
      .drain(state.config.drainTimeoutMs, idleGraceMs)
      .then(() => state.close())
      .then(() => {
        log.log('info', 'stopped', {});
        process.exit(exitCode);
      });
  };

  let listened = false;
  server.server.on('error', (err: NodeJS.ErrnoException) => {
    // Once listening, an error is a failed accept (EMFILE, ENFILE, ENOMEM...): the connection is lost, the server goes on.
    if (listened) {
      log.log('warn', 'accept-failed', errorFields(err));
      return;
    }
    if (supervised) {
      send({ type: 'listen-error', code: err.code ?? 'EUNKNOWN', message: err.message });
      setTimeout(() => process.exit(1), 50);
      return;
    }
    process.stderr.write(`httpd: ${listenErrorText(config, err.code ?? '', err.message)}\n`);
    process.exit(1);
  });
  /** Unsupervised: the extra [[listen]] entries as bound here. */
  let extrasBound: ListenerConfig[] = [];
  const listening = () => {
    listened = true;
    const addr = server.server.address() as AddressInfo;
    send({ type: 'listening', address: addr.address, port: addr.port, tlsPort: tls?.boundPort });
    onListening?.(addr, tls?.boundPort, extrasBound);
  };

  ready.catch((err: Error) => {
    if (supervised) {
      process.send!({ type: 'route-error', message: err.message } satisfies WorkerMessage, () => process.exit(2));
      return;
    }
    process.stderr.write(`httpd: ${err.message}\n`);
    process.exit(2);
  });
  process.on('message', (m: PrimaryMessage, handle?: unknown) => {
    if (tls?.onMessage(m, handle, () => {})) return;
    if (acme?.onMessage(m, (reply) => process.send?.(reply))) return;
    if (onExtraListenMessage(m, handle, server, tls, ready, (err) => log.log('warn', 'accept-failed', { listener: 'extra', ...errorFields(err) }))) return;
    if (m?.type === 'listen' && handle) void ready.then(() => server.server.listen(handle as object, listening), () => undefined);
    else if (m?.type === 'rescan') {
      state.rescan();
      tls?.rescan();
      send({ type: 'rescanned' });
    } else if (m?.type === 'drain') drain('primary asked', m.idleGraceMs);
    else if (m?.type === 'config') state.apply(m.config);
    else if (m?.type === 'reopen-logs') {
      state.reopenLogs();
      log.log('info', 'logs-reopened', {});
    } else if (m?.type === 'report') send({ type: 'report', id: m.id, report: state.report() });
  });
  const listenAlone = () =>
    void ready.then(
      () =>
        listenExtraAlone(
          config.extraListeners ?? [],
          server,
          tls,
          (bound) => {
            extrasBound = bound;
            server.server.listen({ port: config.port, host: config.host }, listening);
          },
          (text) => {
            process.stderr.write(`httpd: ${text}\n`);
            process.exit(1);
          },
        ),
      () => undefined,
    );
  if (!supervised && tls) {
    tls.listener.server.once('error', (err: NodeJS.ErrnoException) => {
      process.stderr.write(`httpd: ${listenErrorText({ ...config, host: config.tlsHost ?? config.host, port: config.tlsPort! }, err.code ?? '', err.message).replace('--port', '--tls-port')}\n`);
      process.exit(1);
    });
    tls.listenAlone(listenAlone);
  } else if (!supervised) listenAlone();
  tls?.listener.server.on('error', (err: NodeJS.ErrnoException) => listened && log.log('warn', 'accept-failed', { listener: 'tls', ...errorFields(err) }));
  // A lone process (--workers 0) is its own primary: it reloads its configuration and serves the admin listener itself.
  const reloader = supervised ? undefined : startLoneReload(state, log);
  if (!supervised) startLoneAdmin(state, log);
  process.on('SIGHUP', () => {
    reloader?.reload('SIGHUP');
    state.rescan();
    tls?.rescan();
  });
  // SIGUSR2 upgrades the primary; sent to the whole service (systemctl kill without --kill-whom=main), it must not kill a worker.
  process.on('SIGUSR2', () => {});
  process.on('SIGUSR1', () => {
    if (supervised) return; // the primary tells every worker
    state.reopenLogs();
    log.log('info', 'logs-reopened', {});
  });
  process.on('SIGTERM', () => drain('SIGTERM'));
  // Under a supervisor the primary owns Ctrl-C (the terminal signals the whole group): it tells every worker to drain.
  process.on('SIGINT', () => (supervised ? undefined : drain('SIGINT')));
  // The primary going away (killed with SIGKILL) must not leave orphans serving.
  if (supervised) process.on('disconnect', () => drain('primary gone'));
  if (routes !== undefined) {
    // The primary's watchdog: a handler that blocks the event loop stops these, and the worker is replaced.
    if (supervised) setInterval(() => send({ type: 'heartbeat' }), Math.min(1000, Math.max(50, (config.watchdogMs ?? ROUTE_DEFAULTS.watchdogMs) / 4))).unref();
    // An error thrown (or a promise rejected) outside any handler's call, in a route module: this worker
    // finishes the responses it has, then exits and is replaced; a replacement starts at once.
    let crashed = false;
    const crash = (err: unknown, event: string) => {
      const e = err as Error;
      log.log('error', event, { ...errorFields(err), stack: e?.stack });
      if (crashed || !listened) process.exit(70);
      crashed = true;
      send({ type: 'retiring' });
      drain(event, 0, 70);
    };
    process.on('uncaughtException', (err) => crash(err, 'worker-crashed'));
    process.on('unhandledRejection', (reason) => crash(reason, 'unhandled-rejection'));
  } else {
    process.on('uncaughtException', (err) => {
      // State is unknown after an exception outside request handling: log it and let the supervisor replace us.
      log.log('error', 'worker-crashed', { ...errorFields(err), stack: err.stack });
      process.exit(70);
    });
  }
}

export function listenErrorText(config: HttpdConfig, code: string, message: string): string {
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: address already in use; stop the other server or choose another --port`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied; ports below 1024 need privileges, choose another --port`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address; check --host`;
  if (code === 'ENOTFOUND') return `cannot listen on ${where}: cannot resolve the host name; check --host`;
  return `cannot listen on ${where}: ${message}`;
}
