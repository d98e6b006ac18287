import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV, ROUTE_DEFAULTS, type HttpdConfig } from '../config.js';
import { createLogger, errorFields } from '../log.js';
import { BindError } from './listen-socket.js';
import { acquireHttpSocket, ServiceLifecycle, UPGRADE_IDLE_GRACE_MS, type HttpSocket } from './service.js';
import { listenErrorText, type PrimaryMessage, type WorkerMessage } from './worker.js';
import { fastSockets } from '../server/fast-socket.js';
import { sendfileInUse } from '../io/sendfile.js';
import { ownHandles } from '../server/handle-wire.js';
import { VERSION } from '../version.js';
import { PrimaryTls } from '../tls/primary-tls.js';
import { startPrimaryAdmin } from '../admin/primary-admin.js';
import { ConfigReloader } from '../config/reloader.js';
import { PrimaryAcme } from '../acme/primary-acme.js';
import { giveStateTo } from '../acme/state-files.js';
import { resolveUser } from './privileges.js';
import { startDeploy } from '../follow/start-deploy.js';
import { statusRoute } from '../follow/status-server.js';
import { followMetrics } from '../follow/follow-metrics.js';
import { needsWorkerRoll, WorkerRoll } from './worker-roll.js';
import { finishRoutes } from '../config/route-keys.js';
import { bindExtraListeners, ExtraListenError, extraListenErrorText, extraSocketName, listenerUrls, sendExtraListeners, type BoundListener } from './extra-listeners.js';

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
  let socket: HttpSocket;
  let service: ServiceLifecycle;
  let inherited: Awaited<ReturnType<typeof acquireHttpSocket>>;
  try {
    inherited = await acquireHttpSocket(config, process.env, log);
    socket = inherited.socket;
    service = new ServiceLifecycle(config, log, socket, inherited.handoff);
  } catch (err) {
    const text = err instanceof BindError ? listenErrorText(config, err.code ?? '', err.message) : (err as Error).message;
    process.stderr.write(`httpd: ${text}\n`);
    process.exit(1);
  }
  let tls: PrimaryTls | undefined;
  if (config.tlsPort !== undefined) {
    try {
      tls = await PrimaryTls.bind(config, inherited.tls);
    } catch (err) {
      const e = err as BindError;
      process.stderr.write(`httpd: ${listenErrorText({ ...config, host: config.tlsHost ?? config.host, port: config.tlsPort }, e.code ?? '', e.message).replace('--port', '--tls-port')}\n`);
      process.exit(1);
    }
  }
  let extras: BoundListener[] = [];
  try {
    extras = await bindExtraListeners(config.extraListeners ?? [], inherited.extraFds);
  } catch (err) {
    process.stderr.write(`httpd: ${err instanceof ExtraListenError ? extraListenErrorText(err) : (err as Error).message}\n`);
    process.exit(1);
  }

  const tlsShownHost = (plainAddress: string) => {
    const h = config.tlsHost ?? plainAddress;
    return h.includes(':') ? `[${h}]` : h;
  };
  const workers = new Map<number, ChildProcess>();
  /** With routes: when each worker last said its event loop is alive (see the watchdog below). */
  const heartbeats = new Map<number, number>();
  /** Workers finishing their responses after a crash in a route module; their replacement already runs. */
  const retiring = new Set<number>();
  /** Workers replaced by a roll (routes changed on a reload): draining, not dead. */
  const rolledOut = new Set<number>();
  /** Workers a roll started that failed to load their routes: stopped, not replaced. */
  const abandoned = new Set<number>();
  let nextId = 1;
  let stopping = false;
  let announced = false;
  /** Workers that have listened, for READY=1 once all of them have. */
  const listened = new Set<number>();
  /** Workers yet to finish the rescan of a SIGHUP, for READY=1 after RELOADING=1. */
  let reloadPending: Set<number> | undefined;
  const reloadStep = (id: number) => {
    if (!reloadPending?.delete(id) || reloadPending.size > 0) return;
    reloadPending = undefined;
    service.reloaded();
  };
  const deaths: number[] = [];
  let backoff = 0;
  // Release channels are followed here, once per node, never in the workers (which see the swaps through their registry).
  const deploy = await startDeploy(config, log, () => [...workers.values()].flatMap((w) => (w.pid ? [w.pid] : [])));

  const admin = await startPrimaryAdmin(config, log, () => workers, inherited.adminFd);
  admin?.server.route('/status', statusRoute(deploy.status));
  admin?.addMetrics(() => followMetrics(deploy.followers.map((f) => f.status())));
  // Every socket is bound: drop root (--user) before any worker exists.
  try {
    if (config.acme && config.user !== undefined) {
      const ids = resolveUser(config.user, config.group);
      giveStateTo(config.acme.stateDir, ids.uid, ids.gid);
    }
    service.dropPrivileges();
  } catch (err) {
    process.stderr.write(`httpd: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const acme = config.acme && tls ? new PrimaryAcme(config, config.acme, log, () => workers) : undefined;
  if (acme) admin?.addMetrics(() => acme.metrics());
  const tell = (m: PrimaryMessage) => {
    for (const w of workers.values()) if (w.connected) w.send(m);
  };
  const spawnWorker = (cfg: HttpdConfig = config): number => {
    const id = nextId++;
    const routed = cfg.routes !== undefined && cfg.routes.length > 0;
    const child = fork(WORKER_SCRIPT, [], {
      // The bound TLS port in place of 0: workers build https:// redirects with it.
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(tls ? { ...cfg, tlsPort: tls.port } : cfg), WEBROOT_WORKER_ID: String(id) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.set(id, child);
    tls?.onSpawn(child);
    acme?.onSpawn(child);
    sendExtraListeners(child, extras);
    child.send({ type: 'listen' } satisfies PrimaryMessage, socket.handle as never);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening') {
        listened.add(id);
        if (listened.size >= config.workers) service.ready(config.workers);
      }
      if (m.type === 'rescanned') reloadStep(id);
      admin?.onMessage(id, m);
      if (acme?.onMessage(id, m)) return;
      // The watchdog counts from when a worker serves: a handler may block before its first heartbeat.
      if (m.type === 'listening' && routed) heartbeats.set(id, Date.now());
      if (m.type === 'listening' && !announced) {
        announced = true;
        const shownHost = m.address.includes(':') ? `[${m.address}]` : m.address;
        log.log('info', 'listening', {
          url: `http://${shownHost}:${m.port}/`,
          port: m.port,
          ...(tls ? { tlsUrl: `https://${tlsShownHost(m.address)}:${tls.port}/`, tlsPort: tls.port } : {}),
          ...(extras.length > 0 ? { listeners: listenerUrls([{ host: m.address, port: m.port, tls: false }, ...(tls ? [{ host: config.tlsHost ?? m.address, port: tls.port, tls: true }] : []), ...extras]) } : {}),
          io: config.io,
          workers: config.workers,
          vhosts: config.vhostsDir,
          cacheBytes: config.cacheBytes,
          fastSockets,
          ownHandles,
          sendfile: sendfileInUse(config.io),
          version: VERSION,
          ...(socket.source !== 'bound' ? { socket: socket.source, fd: socket.fd.fd } : {}),
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
        if (roll.onRouteError(id, m.message)) return;
        process.stderr.write(`httpd: ${m.message}\n`);
        process.exitCode = 2;
        shutdown('a route module failed to load');
      } else if (m.type === 'listen-error') {
        process.stderr.write(`httpd: ${listenErrorText(config, m.code, m.message)}\n`);
        process.exitCode = 1;
        shutdown('listen error');
      }
      if (m.type === 'listening') roll.onListening(id);
    });
    child.on('exit', (code, signal) => onExit(id, child, code, signal));
    // A message to a worker that is exiting fails with EPIPE: its 'exit' is what matters, handled above.
    child.on('error', (err) => log.log('debug', 'worker-ipc-error', { to: id, ...errorFields(err) }));
    return id;
  };

  const onExit = (id: number, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    workers.delete(id);
    reloadStep(id);
    admin?.onExit(id, !stopping);
    heartbeats.delete(id);
    const replaced = retiring.delete(id);
    if (stopping) {
      if (workers.size === 0) exit();
      return;
    }
    if (rolledOut.delete(id)) {
      log.log('info', 'worker-retired', { retired: id, retiredPid: child.pid, exitCode: code, signal, why: 'replaced by a worker with the new routes' });
      roll.onExit(id, code, signal);
      return;
    }
    if (roll.onExit(id, code, signal) || abandoned.delete(id)) return;
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

  const exit = () => {
    service.exiting();
    process.exit(process.exitCode ?? 0);
  };
  const shutdown = (why: string, idleGraceMs = 0) => {
    if (stopping) return;
    stopping = true;
    roll.cancel();
    acme?.stop();
    deploy.stop();
    service.stopping();
    log.log('info', 'draining', { why, workers: workers.size });
    tell({ type: 'drain', idleGraceMs });
    setTimeout(() => {
      log.log('warn', 'drain-timeout', { workers: workers.size });
      for (const w of workers.values()) w.kill('SIGKILL');
      exit();
    }, config.drainTimeoutMs + idleGraceMs + 2000).unref();
    if (workers.size === 0) exit();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // The configuration file (when there is one) is watched; a valid change goes to every worker, and to workers started later.
  const reloader =
    config.configFile === undefined
      ? undefined
      : new ConfigReloader(config, log, (next) => {
          // New or changed route modules need new processes: the workers are replaced one by one (cluster/worker-roll.ts).
          if (needsWorkerRoll(config, next)) return roll.start(next, config);
          config = next;
          log.level = next.logLevel;
          tell({ type: 'config', config: next });
        });
  const roll: WorkerRoll = new WorkerRoll(
    {
      spawn: (cfg) => spawnWorker(cfg),
      retire: (id) => {
        rolledOut.add(id);
        heartbeats.delete(id);
        const w = workers.get(id);
        log.log('info', 'worker-retiring', { retiring: id, retiringPid: w?.pid, why: 'the routes changed; its replacement is ready' });
        if (w?.connected) w.send({ type: 'drain', idleGraceMs: UPGRADE_IDLE_GRACE_MS } satisfies PrimaryMessage);
      },
      stop: (id) => {
        abandoned.add(id);
        heartbeats.delete(id);
        const w = workers.get(id);
        // It exits by itself after reporting a route error; SIGKILL if it does not.
        setTimeout(() => w?.exitCode === null && w.kill('SIGKILL'), 2000).unref();
        if (w?.connected) w.send({ type: 'drain' } satisfies PrimaryMessage);
      },
      serving: (): number[] => [...workers.keys()].filter((id) => !retiring.has(id) && !rolledOut.has(id) && !abandoned.has(id) && !roll.owns(id)).sort((a, b) => a - b),
      commit: (next) => {
        config = next;
        log.level = next.logLevel;
      },
      reject: (previous) => reloader?.revert(previous),
    },
    log,
    config.upgradeTimeoutMs ?? 30_000,
  );
  reloader?.start(config.rescanIntervalMs);
  process.on('SIGHUP', () => {
    // Routes from flags only: SIGHUP re-reads their modules, and a changed one replaces the workers. They are
    // read before the 'rescan' line is written, so that a module changed after that line is this SIGHUP's
    // business no more (a test that edits a module once it sees the line raced the read otherwise).
    const routesNext = reloader === undefined && config.routes !== undefined ? { ...config, routes: finishRoutes(config.routes, {}) } : undefined;
    log.log('info', 'rescan', { why: 'SIGHUP' });
    reloadPending = new Set([...workers].filter(([, w]) => w.connected).map(([id]) => id));
    service.reloading();
    reloader?.reload('SIGHUP');
    if (routesNext !== undefined && needsWorkerRoll(config, routesNext)) roll.start(routesNext, config);
    tell({ type: 'rescan' });
    if (reloadPending.size === 0) {
      reloadPending = undefined;
      service.reloaded();
    }
  });
  process.on('SIGUSR2', () =>
    service.onUpgradeSignal(
      () => shutdown('upgraded', UPGRADE_IDLE_GRACE_MS),
      () => stopping,
      [...(tls ? [{ fd: tls.fd, name: 'https' }] : []), ...(admin?.server.fd !== undefined ? [{ fd: admin.server.fd, name: 'admin' }] : []), ...extras.map((b, i) => ({ fd: b.fd, name: extraSocketName(i) }))],
    ),
  );
  process.on('SIGUSR1', () => {
    log.log('info', 'reopen-logs', { why: 'SIGUSR1' });
    tell({ type: 'reopen-logs' });
  });

  {
    // Watchdog: a route handler that blocks its worker's event loop stops its heartbeats; past the limit the
    // worker is killed, and replaced like any worker that died. Only workers with routes send heartbeats.
    setInterval(() => {
      const limit = config.watchdogMs ?? ROUTE_DEFAULTS.watchdogMs;
      const now = Date.now();
      for (const [id, last] of heartbeats) {
        if (now - last <= limit) continue;
        heartbeats.delete(id);
        const w = workers.get(id);
        log.log('error', 'worker-unresponsive', { unresponsive: id, unresponsivePid: w?.pid, blockedMs: now - last, limitMs: limit });
        w?.kill('SIGKILL');
      }
    }, Math.min(1000, Math.max(50, (config.watchdogMs ?? ROUTE_DEFAULTS.watchdogMs) / 4))).unref();
  }

  tls?.start((m) => {
    for (const w of workers.values()) if (w.connected) w.send(m);
  });
  for (let i = 0; i < config.workers; i++) spawnWorker();
  acme?.start();
}
