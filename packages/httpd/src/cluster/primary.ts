import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV, type HttpdConfig } from '../config.js';
import { createLogger } from '../log.js';
import { BindError, bindListenSocket, type SocketHandle } from './listen-socket.js';
import { listenErrorText, type PrimaryMessage, type WorkerMessage } from './worker.js';
import { fastSockets } from '../server/fast-socket.js';
import { PrimaryTls } from '../tls/primary-tls.js';
import { startPrimaryAdmin } from '../admin/primary-admin.js';
import { ConfigReloader } from '../config/reloader.js';

/** Deaths within this window count toward a crash loop. */
const CRASH_WINDOW_MS = 10_000;
const CRASH_LOOP_THRESHOLD = 3;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
const WORKER_SCRIPT = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/**
 * Supervises `config.workers` worker processes that all accept on one
 * listening socket bound here (see listen-socket.ts). A dead worker is replaced
 * at once; repeated deaths back off exponentially and are logged as a crash
 * loop. SIGTERM/SIGINT drain every worker and exit 0; SIGHUP makes every
 * worker rescan.
 */
export async function runPrimary(config: HttpdConfig): Promise<void> {
  const log = createLogger(config.logLevel);
  let socket: { handle: SocketHandle; address: string; port: number };
  try {
    socket = await bindListenSocket(config.host, config.port);
  } catch (err) {
    const e = err as BindError;
    process.stderr.write(`httpd: ${listenErrorText(config, e.code ?? '', e.message)}\n`);
    process.exit(1);
  }
  let tls: PrimaryTls | undefined;
  if (config.tlsPort !== undefined) {
    try {
      tls = await PrimaryTls.bind(config);
    } catch (err) {
      const e = err as BindError;
      process.stderr.write(`httpd: ${listenErrorText({ ...config, port: config.tlsPort }, e.code ?? '', e.message).replace('--port', '--tls-port')}\n`);
      process.exit(1);
    }
  }

  const workers = new Map<number, ChildProcess>();
  let nextId = 1;
  let stopping = false;
  let announced = false;
  const deaths: number[] = [];
  let backoff = 0;

  const admin = await startPrimaryAdmin(config, log, () => workers);
  const tell = (m: PrimaryMessage) => {
    for (const w of workers.values()) if (w.connected) w.send(m);
  };
  const spawnWorker = (): void => {
    const id = nextId++;
    const child = fork(WORKER_SCRIPT, [], {
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config), WEBROOT_WORKER_ID: String(id) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.set(id, child);
    tls?.onSpawn(child);
    child.send({ type: 'listen' } satisfies PrimaryMessage, socket.handle as never);
    child.on('message', (m: WorkerMessage) => {
      admin?.onMessage(id, m);
      if (m.type === 'listening' && !announced) {
        announced = true;
        const shownHost = m.address.includes(':') ? `[${m.address}]` : m.address;
        log.log('info', 'listening', {
          url: `http://${shownHost}:${m.port}/`,
          port: m.port,
          ...(tls ? { tlsUrl: `https://${shownHost}:${tls.port}/`, tlsPort: tls.port } : {}),
          io: config.io,
          workers: config.workers,
          vhosts: config.vhostsDir,
          cacheBytes: config.cacheBytes,
          fastSockets,
        });
      } else if (m.type === 'listen-error') {
        process.stderr.write(`httpd: ${listenErrorText(config, m.code, m.message)}\n`);
        process.exitCode = 1;
        shutdown('listen error');
      }
    });
    child.on('exit', (code, signal) => onExit(id, child, code, signal));
  };

  const onExit = (id: number, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    workers.delete(id);
    admin?.onExit(id, !stopping);
    if (stopping) {
      if (workers.size === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && deaths[0]! < now - CRASH_WINDOW_MS) deaths.shift();
    const looping = deaths.length >= CRASH_LOOP_THRESHOLD;
    backoff = looping ? Math.min(MAX_BACKOFF_MS, backoff === 0 ? FIRST_BACKOFF_MS : backoff * 2) : 0;
    log.log(looping ? 'error' : 'warn', looping ? 'crash-loop' : 'worker-died', {
      died: id,
      diedPid: child.pid,
      exitCode: code,
      signal,
      restartInMs: backoff,
      recentDeaths: deaths.length,
    });
    if (backoff === 0) spawnWorker();
    else setTimeout(() => !stopping && spawnWorker(), backoff);
  };

  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'draining', { why, workers: workers.size });
    tell({ type: 'drain' });
    setTimeout(() => {
      log.log('warn', 'drain-timeout', { workers: workers.size });
      for (const w of workers.values()) w.kill('SIGKILL');
      process.exit(process.exitCode ?? 0);
    }, config.drainTimeoutMs + 2000).unref();
    if (workers.size === 0) process.exit(process.exitCode ?? 0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // The configuration file (when there is one) is watched; a valid change goes to every worker, and to workers started later.
  const reloader =
    config.configFile === undefined
      ? undefined
      : new ConfigReloader(config, log, (next) => {
          config = next;
          log.level = next.logLevel;
          tell({ type: 'config', config: next });
        });
  reloader?.start(config.rescanIntervalMs);
  process.on('SIGHUP', () => {
    log.log('info', 'rescan', { why: 'SIGHUP' });
    reloader?.reload('SIGHUP');
    tell({ type: 'rescan' });
  });
  process.on('SIGUSR1', () => {
    log.log('info', 'reopen-logs', { why: 'SIGUSR1' });
    tell({ type: 'reopen-logs' });
  });

  tls?.start((m) => {
    for (const w of workers.values()) if (w.connected) w.send(m);
  });
  for (let i = 0; i < config.workers; i++) spawnWorker();
}
