import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV, ROUTE_DEFAULTS, type HttpdConfig } from '../config.js';
import { createLogger, errorFields } from '../log.js';
import { BindError, bindListenSocket, type SocketHandle } from './listen-socket.js';
import { listenErrorText, type PrimaryMessage, type WorkerMessage } from './worker.js';
import { fastSockets } from '../server/fast-socket.js';

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

  const workers = new Map<number, ChildProcess>();
  /** With routes: when each worker last said its event loop is alive (see the watchdog below). */
  const heartbeats = new Map<number, number>();
  /** Workers finishing their responses after a crash in a route module; their replacement already runs. */
  const retiring = new Set<number>();
  const routed = config.routes !== undefined && config.routes.length > 0;
  let nextId = 1;
  let stopping = false;
  let announced = false;
  const deaths: number[] = [];
  let backoff = 0;

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
    child.send({ type: 'listen' } satisfies PrimaryMessage, socket.handle as never);
    child.on('message', (m: WorkerMessage) => {
      // The watchdog counts from when a worker serves: a handler may block before its first heartbeat.
      if (m.type === 'listening' && routed) heartbeats.set(id, Date.now());
      if (m.type === 'listening' && !announced) {
        announced = true;
        const shownHost = m.address.includes(':') ? `[${m.address}]` : m.address;
        log.log('info', 'listening', {
          url: `http://${shownHost}:${m.port}/`,
          port: m.port,
          io: config.io,
          workers: config.workers,
          vhosts: config.vhostsDir,
          cacheBytes: config.cacheBytes,
          fastSockets,
        });
      } else if (m.type === 'heartbeat') {
        heartbeats.set(id, Date.now());
      } else if (m.type === 'retiring') {
        if (!stopping && !retiring.has(id)) {
          retiring.add(id);
          heartbeats.delete(id);
          log.log('warn', 'worker-retiring', { retiring: id, retiringPid: child.pid });
          spawnWorker();
        }
      } else if (m.type === 'route-error') {
        process.stderr.write(`httpd: ${m.message}\n`);
        process.exitCode = 2;
        shutdown('a route module failed to load');
      } else if (m.type === 'listen-error') {
        process.stderr.write(`httpd: ${listenErrorText(config, m.code, m.message)}\n`);
        process.exitCode = 1;
        shutdown('listen error');
      }
    });
    child.on('exit', (code, signal) => onExit(id, child, code, signal));
    // A message to a worker that is exiting fails with EPIPE: its 'exit' is what matters, handled above.
    child.on('error', (err) => log.log('debug', 'worker-ipc-error', { to: id, ...errorFields(err) }));
  };

  const onExit = (id: number, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    workers.delete(id);
    heartbeats.delete(id);
    const replaced = retiring.delete(id);
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
    if (replaced) {
      // Its replacement started when it began retiring.
      log.log('info', 'worker-retired', { retired: id, retiredPid: child.pid, exitCode: code, signal });
      return;
    }
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
  process.on('SIGHUP', () => {
    log.log('info', 'rescan', { why: 'SIGHUP' });
    tell({ type: 'rescan' });
  });

  if (routed) {
    // Watchdog: a route handler that blocks its worker's event loop stops its heartbeats; past the limit the
    // worker is killed, and replaced like any worker that died.
    const limit = config.watchdogMs ?? ROUTE_DEFAULTS.watchdogMs;
    setInterval(() => {
      const now = Date.now();
      for (const [id, last] of heartbeats) {
        if (now - last <= limit) continue;
        heartbeats.delete(id);
        const w = workers.get(id);
        log.log('error', 'worker-unresponsive', { unresponsive: id, unresponsivePid: w?.pid, blockedMs: now - last, limitMs: limit });
        w?.kill('SIGKILL');
      }
    }, Math.min(1000, Math.max(50, limit / 4))).unref();
  }

  for (let i = 0; i < config.workers; i++) spawnWorker();
}
