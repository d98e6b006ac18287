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

  constructor(
    private current: HttpdConfig,
    private readonly log: Logger,
    private readonly apply: (next: HttpdConfig) => void,
  ) {
    this.seen = this.identity();
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
    const change = diffConfig(this.current, { ...outcome.config, overrides: this.current.overrides });
    if (change.changed.length === 0) {
      this.log.log('info', 'config-unchanged', { file, why });
      return;
    }
    this.current = change.applied;
    this.log.log(change.restartOnly.length > 0 ? 'warn' : 'info', 'config-reloaded', {
      file,
      why,
      changed: change.changed,
      ...(change.restartOnly.length > 0 ? { restartRequired: change.restartOnly, note: 'these settings keep their old values until httpd is restarted' } : {}),
    });
    this.apply(change.applied);
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
  }
}
