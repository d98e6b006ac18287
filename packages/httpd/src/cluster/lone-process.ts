import { createAdmin } from '../admin/admin-routes.js';
import { ConfigReloader } from '../config/reloader.js';
import { errorFields, type Logger } from '../log.js';
import type { WorkerState } from './worker-state.js';
import { needsWorkerRoll } from './worker-roll.js';

/** `--workers 0` with a configuration file: the process reloads it itself (the primary does this otherwise). */
export function startLoneReload(state: WorkerState, log: Logger): ConfigReloader | undefined {
  if (state.config.configFile === undefined) return undefined;
  const reloader = new ConfigReloader(state.config, log, (next) => {
    const running = state.config;
    if (!needsWorkerRoll(running, next)) return state.apply(next);
    // Route modules load once per process, and no supervisor starts a new one here: the routes keep running as they are.
    log.log('warn', 'routes-not-reloaded', { why: 'with --workers 0 no new worker can load the changed routes; restart httpd (or run with --workers 1 or more)' });
    state.apply({ ...next, routes: running.routes, routeBodyLimit: running.routeBodyLimit, routeBodyTimeoutMs: running.routeBodyTimeoutMs, routeTimeoutMs: running.routeTimeoutMs });
  });
  reloader.start(state.config.rescanIntervalMs);
  return reloader;
}

/** `--workers 0` with an admin listener: served from this process's own report. */
export function startLoneAdmin(state: WorkerState, log: Logger): void {
  const admin = state.config.admin;
  if (admin === undefined) return;
  const { server } = createAdmin(log, async () => new Map([[0, state.report()]]));
  server.listen(admin.host, admin.port).then(
    (a) => log.log('info', 'admin-listening', { url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/`, port: a.port }),
    (err) => {
      process.stderr.write(`httpd: cannot listen on the admin address ${admin.host}:${admin.port}: ${errorFields(err).error}\n`);
      process.exit(1);
    },
  );
}
