import type { AddressInfo } from 'node:net';
import type { HttpdConfig } from '../config.js';
import { createLogger, errorFields } from '../log.js';
import { openAccessLog } from '../server/access-log.js';
import { HttpServer } from '../server/http-server.js';
import { VhostRegistry } from '../vhosts/registry.js';

export type WorkerMessage =
  | { type: 'listening'; address: string; port: number }
  | { type: 'listen-error'; code: string; message: string }
  // After a rescan the primary asked for: the primary reports READY=1 to systemd once every worker has.
  | { type: 'rescanned' };

/** `idleGraceMs` on drain: see Connection.shutdown (an upgrade hands the socket on). */
export type PrimaryMessage = { type: 'listen' } | { type: 'rescan' } | { type: 'drain'; idleGraceMs?: number };

/**
 * Runs one serving process: the vhost registry (watching for swaps), the HTTP
 * server, and the handlers that drain it. Supervised (forked by the primary,
 * which sends the listening socket) or alone (`--workers 0`, binds itself).
 */
export function runWorker(config: HttpdConfig, onListening?: (address: AddressInfo) => void): void {
  const supervised = process.send !== undefined && process.env.WEBROOT_WORKER_ID !== undefined;
  const log = createLogger(config.logLevel);
  const registry = new VhostRegistry(config.vhostsDir, log);
  registry.rescan();
  registry.watch(config.rescanIntervalMs, config.watch);
  const access = config.accessLog ? openAccessLog(config.accessLog) : undefined;
  const server = new HttpServer({
    sites: registry,
    io: config.io,
    cacheBytes: config.cacheBytes,
    plan: { cacheControl: config.cacheControl, autoindex: config.autoindex },
    timeouts: { headerMs: config.headerTimeoutMs, keepAliveMs: config.keepAliveTimeoutMs, sendMs: config.sendTimeoutMs },
    log,
    accessLog: access?.write,
  });
  const send = (m: WorkerMessage) => process.send?.(m);

  let draining = false;
  const drain = (why: string, idleGraceMs = 0) => {
    if (draining) return;
    draining = true;
    log.log('info', 'draining', { why, connections: server.connectionCount });
    server.drain(config.drainTimeoutMs, idleGraceMs).then(() => {
      registry.close();
      access?.close();
      log.log('info', 'stopped', {});
      process.exit(0);
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
  const listening = () => {
    listened = true;
    const addr = server.server.address() as AddressInfo;
    send({ type: 'listening', address: addr.address, port: addr.port });
    onListening?.(addr);
  };

  process.on('message', (m: PrimaryMessage, handle?: unknown) => {
    if (m?.type === 'listen' && handle) server.server.listen(handle as object, listening);
    else if (m?.type === 'rescan') {
      registry.rescan();
      send({ type: 'rescanned' });
    } else if (m?.type === 'drain') drain('primary asked', m.idleGraceMs);
  });
  if (!supervised) server.server.listen({ port: config.port, host: config.host }, listening);
  process.on('SIGHUP', () => registry.rescan());
  // SIGUSR2 upgrades the primary; sent to the whole service (systemctl kill without --kill-whom=main), it must not kill a worker.
  process.on('SIGUSR2', () => {});
  process.on('SIGTERM', () => drain('SIGTERM'));
  // Under a supervisor the primary owns Ctrl-C (the terminal signals the whole group): it tells every worker to drain.
  process.on('SIGINT', () => (supervised ? undefined : drain('SIGINT')));
  // The primary going away (killed with SIGKILL) must not leave orphans serving.
  if (supervised) process.on('disconnect', () => drain('primary gone'));
  process.on('uncaughtException', (err) => {
    // State is unknown after an exception outside request handling: log it and let the supervisor replace us.
    log.log('error', 'worker-crashed', { ...errorFields(err), stack: err.stack });
    process.exit(70);
  });
}

export function listenErrorText(config: HttpdConfig, code: string, message: string): string {
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: address already in use; stop the other server or choose another --port`;
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied; ports below 1024 need privileges, choose another --port`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address; check --host`;
  if (code === 'ENOTFOUND') return `cannot listen on ${where}: cannot resolve the host name; check --host`;
  return `cannot listen on ${where}: ${message}`;
}
