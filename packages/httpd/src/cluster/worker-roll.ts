/**
 * Replacing every worker after a reload that changes the dynamic routes (a
 * route added, removed or changed, a module whose content changed, a route
 * limit): a worker imports its route modules once, at start-up, and an ES
 * module cannot be imported again in the same process, so new modules need new
 * processes. One by one: a new worker with the new configuration starts, and
 * only once it listens (its modules imported) is one old worker told to drain
 * (keep-alive clients get one more response, with `Connection: close`); then
 * the next. The first new worker is the trial: if its modules fail to import,
 * or it exits or is not ready within the time allowed, the reload is
 * `config-rejected`, it is stopped, and the old workers go on with the old
 * configuration as if nothing had happened.
 */
import type { HttpdConfig } from '../config.js';
import type { Logger } from '../log.js';

/** The route settings a worker fixes at start-up. */
const ROUTE_KEYS = ['routes', 'routeBodyLimit', 'routeBodyTimeoutMs', 'routeTimeoutMs'] as const;

/** Whether going from `running` to `next` needs new workers (module digests included). Pure. */
export function needsWorkerRoll(running: HttpdConfig, next: HttpdConfig): boolean {
  const norm = (c: HttpdConfig, k: (typeof ROUTE_KEYS)[number]) => JSON.stringify(k === 'routes' && (c.routes?.length ?? 0) === 0 ? undefined : c[k]);
  return ROUTE_KEYS.some((k) => norm(running, k) !== norm(next, k));
}

/** The route names ([HOST]/PREFIX) added, removed and changed (another module, content or limits) from `a` to `b`. Pure. */
export function routeChanges(a: HttpdConfig, b: HttpdConfig): { added: string[]; removed: string[]; changed: string[] } {
  const byName = (c: HttpdConfig) => new Map((c.routes ?? []).map((r) => [`${r.host ?? ''}${r.prefix}`, JSON.stringify(r)]));
  const before = byName(a);
  const after = byName(b);
  return {
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    changed: [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).map(([k]) => k),
  };
}

/** What the primary does for a roll. */
export interface RollHost {
  /** Starts a worker with `config`; its id. */
  spawn(config: HttpdConfig): number;
  /** Tells a worker to drain and exit; its exit is not a death to replace. */
  retire(id: number): void;
  /** Stops a worker that failed to start (it is not replaced). */
  stop(id: number): void;
  /** The workers serving now (not retiring), oldest first. */
  serving(): number[];
  /** The roll's first new worker is ready: `next` is the configuration from now on (replacements start with it). */
  commit(next: HttpdConfig): void;
  /** The trial failed: the reload is undone and `previous` stays in force. */
  reject(previous: HttpdConfig, problems: string[]): void;
}

interface Step {
  /** The new worker being waited for. */
  id: number;
  timer: NodeJS.Timeout;
}

export class WorkerRoll {
  private step: Step | undefined;
  private next: HttpdConfig | undefined;
  private previous: HttpdConfig | undefined;
  private committed = false;
  /** Old workers still to be replaced, in order. */
  private olds: number[] = [];
  private replaced = 0;
  /** Old workers told to drain that have not exited yet: the roll is over when the last one has. */
  private readonly draining = new Set<number>();
  /** A reload that arrived during a roll: started once this one ends. */
  private pending: { next: HttpdConfig; previous: HttpdConfig } | undefined;

  constructor(
    private readonly host: RollHost,
    private readonly log: Logger,
    private readonly readyTimeoutMs: number,
  ) {}

  get active(): boolean {
    return this.next !== undefined;
  }

  /** Whether `id` is a worker this roll started and still waits for. */
  owns(id: number): boolean {
    return this.step?.id === id;
  }

  start(next: HttpdConfig, previous: HttpdConfig): void {
    if (this.active) {
      this.pending = { next, previous: this.pending?.previous ?? previous };
      this.log.log('info', 'workers-roll-queued', { why: 'a roll is running; this configuration rolls next' });
      return;
    }
    this.next = next;
    this.previous = previous;
    this.committed = false;
    this.olds = this.host.serving();
    this.replaced = 0;
    const changes = routeChanges(previous, next);
    this.log.log('info', 'workers-rolling', { workers: this.olds.length, ...changes });
    this.spawnOne();
  }

  private spawnOne(): void {
    const id = this.host.spawn(this.next!);
    const timer = setTimeout(() => this.failed(id, `the new worker was not ready within ${this.readyTimeoutMs} ms (a route module that never finishes importing?)`), this.readyTimeoutMs);
    timer.unref();
    this.step = { id, timer };
  }

  /** A worker listens; true when it was this roll's. */
  onListening(id: number): boolean {
    if (!this.owns(id)) return false;
    clearTimeout(this.step!.timer);
    this.step = undefined;
    if (!this.committed) {
      this.committed = true;
      this.host.commit(this.next!);
    }
    const old = this.olds.shift();
    if (old !== undefined) {
      this.draining.add(old);
      this.host.retire(old);
      this.replaced++;
    }
    if (this.olds.length > 0) this.spawnOne();
    else if (this.draining.size === 0) this.finish();
    return true;
  }

  /** A worker reported that a route module failed to load; true when it was this roll's (the service goes on). */
  onRouteError(id: number, message: string): boolean {
    if (!this.owns(id)) return false;
    this.failed(id, message);
    return true;
  }

  /** A worker exited; true when it was this roll's new worker, before it listened (not to be replaced). */
  onExit(id: number, code: number | null, signal: string | null): boolean {
    if (this.draining.delete(id)) {
      if (this.active && this.step === undefined && this.olds.length === 0 && this.draining.size === 0) this.finish();
      return false;
    }
    if (!this.owns(id)) return false;
    this.failed(id, `the new worker exited (code ${code}, signal ${signal}) before it was ready`);
    return true;
  }

  private failed(id: number, problem: string): void {
    if (!this.owns(id)) return;
    clearTimeout(this.step!.timer);
    this.step = undefined;
    this.host.stop(id);
    if (!this.committed) {
      this.log.log('error', 'config-rejected', {
        file: this.next!.configFile,
        why: 'a new worker could not load the routes',
        problems: [problem],
        keeping: 'the running configuration and workers',
      });
      this.host.reject(this.previous!, [problem]);
    } else {
      // Past the trial the configuration is in force: the old workers left keep serving until a later reload or restart.
      this.log.log('error', 'workers-roll-failed', { problem, replaced: this.replaced, notReplaced: this.olds });
    }
    this.end();
  }

  /** The service is stopping: the roll ends here, silently (every worker drains anyway). */
  cancel(): void {
    if (this.step) clearTimeout(this.step.timer);
    this.step = undefined;
    this.pending = undefined;
    this.next = undefined;
    this.previous = undefined;
    this.olds = [];
  }

  private finish(): void {
    this.log.log('info', 'workers-rolled', { workers: this.replaced, routes: (this.next!.routes ?? []).map((r) => `${r.host ?? ''}${r.prefix}`) });
    this.end();
  }

  private end(): void {
    this.next = undefined;
    this.previous = undefined;
    const pending = this.pending;
    this.pending = undefined;
    if (pending) this.start(pending.next, pending.previous);
  }
}
