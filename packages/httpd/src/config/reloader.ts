import fs from 'node:fs';
import path from 'node:path';
import type { HttpdConfig } from '../config.js';
import { errorFields, type Logger } from '../log.js';
import { diffConfig } from './diff.js';
import { formatProblem, loadConfigFile } from './load.js';

/**
 * Reloads the configuration file: on a change seen by fs.watch (a hint, on
 * the file's directory so an editor's rename-over is seen), on a periodic
 * check of its identity, and when `reload()` is called (SIGHUP). A file with
 * any problem is logged as `config-rejected` and nothing changes; a valid one
 * is logged as `config-reloaded` with what changed and handed to `apply`.
 */
export class ConfigReloader {
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private seen: string;
  /** What the file said last time it was valid (restart-only settings included, applied or not). */
  private lastLoaded: HttpdConfig;

  constructor(
    private current: HttpdConfig,
    private readonly log: Logger,
    private readonly apply: (next: HttpdConfig) => void,
  ) {
    this.seen = this.identity();
    this.lastLoaded = current;
  }

  get config(): HttpdConfig {
    return this.current;
  }

  private identity(): string {
    try {
      const s = fs.statSync(this.current.configFile!);
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  start(checkIntervalMs: number): void {
    const file = this.current.configFile!;
    const check = () => {
      clearTimeout(this.debounce);
      // Editors write in several steps: wait for the writes to settle.
      this.debounce = setTimeout(() => {
        if (this.identity() !== this.seen) this.reload('file changed');
      }, 50);
    };
    try {
      this.watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === path.basename(file)) check();
      });
      this.watcher.on('error', (err) => this.log.log('warn', 'watch-failed', { file, ...errorFields(err) }));
    } catch (err) {
      this.log.log('warn', 'watch-failed', { file, ...errorFields(err), fallback: 'periodic check only' });
    }
    this.timer = setInterval(check, Math.max(250, checkIntervalMs));
    this.timer.unref();
  }

  reload(why: string): void {
    const file = this.current.configFile!;
    this.seen = this.identity();
    const outcome = loadConfigFile(file, this.current.overrides ?? {});
    if (outcome.kind === 'invalid') {
      this.log.log('error', 'config-rejected', { file, why, problems: outcome.problems.map(formatProblem), keeping: 'the running configuration' });
      return;
    }
    const next = { ...outcome.config, overrides: this.current.overrides };
    // What the edit changed is against the file as last loaded; what needs a restart is against what runs.
    const changed = diffConfig(this.lastLoaded, next).changed;
    this.lastLoaded = next;
    if (changed.length === 0) {
      this.log.log('info', 'config-unchanged', { file, why });
      return;
    }
    const running = diffConfig(this.current, next);
    this.current = running.applied;
    this.log.log(running.restartOnly.length > 0 ? 'warn' : 'info', 'config-reloaded', {
      file,
      why,
      changed,
      ...(running.restartOnly.length > 0 ? { restartRequired: running.restartOnly, note: 'these settings keep their old values until httpd is restarted' } : {}),
    });
    this.apply(running.applied);
  }

  /**
   * Undoes a reload that was applied but could not take effect (cluster/worker-roll.ts: a new worker could not
   * load the routes): `to` is in force again, and the next reload is compared with it.
   */
  revert(to: HttpdConfig): void {
    this.current = to;
    this.lastLoaded = to;
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
  }
}
