import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV, type HttpdConfig } from '../config.js';
import { createLogger } from '../log.js';
import { listenErrorText, type PrimaryMessage, type WorkerMessage } from './worker.js';

/** Deaths within this window count toward a crash loop. */
const CRASH_WINDOW_MS = 10_000;
const CRASH_LOOP_THRESHOLD = 3;
const MAX_BACKOFF_MS = 30_000;

/**
 * Supervises `config.workers` worker processes sharing one listening socket.
 * Workers accept connections themselves (SCHED_NONE): no hop through the
 * primary. A dead worker is replaced at once; repeated deaths back off
 * exponentially. SIGTERM/SIGINT drain every worker and exit 0; SIGHUP makes
 * every worker rescan.
 */
export function runPrimary(config: HttpdConfig): void {
  const log = createLogger(config.logLevel);
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), silent: false });

  let stopping = false;
  let announced = false;
  const deaths: number[] = [];
  let backoff = 0;

  const tell = (m: PrimaryMessage) => {
    for (const w of Object.values(cluster.workers ?? {})) w?.send(m);
  };
  const fork = (): Worker => {
    const w = cluster.fork({ [CONFIG_ENV]: JSON.stringify(config) });
    w.on('message', (m: WorkerMessage) => {
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
        });
      } else if (m.type === 'listen-error') {
        process.stderr.write(`httpd: ${listenErrorText(config, m.code, m.message)}\n`);
        stopping = true;
        for (const other of Object.values(cluster.workers ?? {})) other?.kill();
        process.exitCode = 1;
      }
    });
    return w;
  };

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && deaths[0]! < now - CRASH_WINDOW_MS) deaths.shift();
    const looping = deaths.length >= CRASH_LOOP_THRESHOLD;
    backoff = looping ? Math.min(MAX_BACKOFF_MS, backoff === 0 ? 250 : backoff * 2) : 0;
    log.log(looping ? 'error' : 'warn', looping ? 'crash-loop' : 'worker-died', {
      died: worker.id,
      pid: worker.process.pid,
      exitCode: code,
      signal,
      restartInMs: backoff,
      recentDeaths: deaths.length,
    });
    if (backoff === 0) fork();
    else setTimeout(() => !stopping && fork(), backoff).unref();
  });

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.log('info', 'draining', { why: signal, workers: Object.keys(cluster.workers ?? {}).length });
    tell({ type: 'drain' });
    setTimeout(() => {
      log.log('warn', 'drain-timeout', {});
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(0);
    }, config.drainTimeoutMs + 2000).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    log.log('info', 'rescan', { why: 'SIGHUP' });
    tell({ type: 'rescan' });
  });

  for (let i = 0; i < config.workers; i++) fork();
}
