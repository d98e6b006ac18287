import fs from 'node:fs';
import path from 'node:path';
import { openWebroot, type FileIdentity } from '@webroot/format';
import { errorFields, type Logger } from '../log.js';
import { Site } from './site.js';

export const DEFAULT_SITE = '__default__';

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Entry names are host names, compared like Host values: lower case, no trailing dot. */
export function hostKey(entryName: string): string {
  const lower = entryName.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The sites of a vhosts directory. `rescan()` re-resolves every entry and
 * loads what changed (by device, inode, size, mtime of the file it resolves
 * to). A new webroot is opened and validated before it replaces the old one;
 * the old one is retired and closes when its last response ends. Watch
 * events, SIGHUP and a periodic timer all just call `rescan()`.
 */
export class VhostRegistry {
  protected readonly sites = new Map<string, Site>();
  /** Entries that failed, by name, with the identity that failed, so the same bad file is reported once. */
  protected readonly refused = new Map<string, string>();
  /** Why each refused entry failed (for /readyz). */
  private readonly refusedWhy = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;

  constructor(
    readonly dir: string,
    protected readonly log: Logger,
  ) {}

  /** Webroot files opened for an entry, by result (for the metrics). */
  readonly swaps = { loaded: 0, refused: 0 };

  /** The site loaded for exactly this entry name (no __default__ fallback). */
  entry(key: string): Site | undefined {
    return this.sites.get(key);
  }

  /** Every loaded site, by entry name. */
  loaded(): ReadonlyMap<string, Site> {
    return this.sites;
  }

  /** Entries that exist but are not being served (never loaded, or refused with no previous version), with why. */
  notLoaded(): { name: string; reason: string }[] {
    return [...this.refusedWhy].filter(([name]) => !this.sites.has(name)).map(([name, reason]) => ({ name, reason }));
  }

  /** The site for a normalised host, falling back to __default__. */
  lookup(host: string): Site | undefined {
    return this.sites.get(host) ?? this.sites.get(DEFAULT_SITE);
  }

  get names(): string[] {
    return [...this.sites.keys()].sort();
  }

  rescan(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      this.log.log('error', 'vhosts-unreadable', { dir: this.dir, ...errorFields(err) });
      return;
    }
    const seen = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.')) continue; // temporary names of atomic deploys (vhosts/.tmp)
      const key = hostKey(name);
      seen.add(key);
      this.load(key, path.join(this.dir, name));
    }
    for (const [key, site] of this.sites) {
      if (seen.has(key)) continue;
      this.sites.delete(key);
      site.webroot.retire();
      this.log.log('info', 'vhost-removed', { vhost: key });
    }
    for (const key of this.refused.keys()) if (!seen.has(key)) this.refused.delete(key);
    for (const key of this.refusedWhy.keys()) if (!seen.has(key)) this.refusedWhy.delete(key);
  }

  protected load(key: string, entryPath: string): void {
    const current = this.sites.get(key);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(entryPath);
    } catch (err) {
      this.refuse(key, entryPath, `stat:${(err as NodeJS.ErrnoException).code}`, err, current !== undefined);
      return;
    }
    const identity: FileIdentity = { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
    if (current && sameIdentity(current.webroot.identity, identity)) return;
    const idKey = `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeMs}`;
    if (this.refused.get(key) === idKey) return;
    const started = process.hrtime.bigint();
    try {
      const webroot = openWebroot(entryPath);
      this.sites.set(key, new Site(key, webroot));
      this.refused.delete(key);
      this.refusedWhy.delete(key);
      this.swaps.loaded++;
      current?.webroot.retire();
      this.log.log('info', current ? 'vhost-swapped' : 'vhost-loaded', {
        vhost: key,
        file: entryPath,
        target: safeRealpath(entryPath),
        entries: webroot.size,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    } catch (err) {
      this.refuse(key, entryPath, idKey, err, current !== undefined);
    }
  }

  private refuse(key: string, entryPath: string, idKey: string, err: unknown, keptOld: boolean): void {
    if (this.refused.get(key) === idKey) return;
    this.refused.set(key, idKey);
    this.refusedWhy.set(key, errorFields(err).error);
    this.swaps.refused++;
    this.log.log(keptOld ? 'warn' : 'error', 'vhost-refused', {
      vhost: key,
      file: entryPath,
      ...errorFields(err),
      ...(keptOld ? { keeping: 'previous version' } : {}),
    });
  }

  /** Directories whose changes are a hint to rescan. */
  protected watchedDirs(): string[] {
    return [this.dir];
  }

  /** Starts watching (a hint) and the periodic rescan. */
  watch(rescanIntervalMs: number, useWatch = true): void {
    const schedule = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.rescan(), 10);
    };
    if (useWatch) {
      for (const dir of this.watchedDirs()) this.watchDir(dir, schedule);
    }
    if (rescanIntervalMs > 0) {
      this.timer = setInterval(() => this.rescan(), rescanIntervalMs);
      this.timer.unref();
    }
  }

  private readonly watchers: fs.FSWatcher[] = [];

  private watchDir(dir: string, schedule: () => void): void {
    try {
      const watcher = fs.watch(dir, { persistent: false }, schedule);
      this.watchers.push(watcher);
      watcher.on('error', (err) => this.log.log('warn', 'watch-failed', { dir, ...errorFields(err) }));
    } catch (err) {
      this.log.log('warn', 'watch-failed', { dir, ...errorFields(err), fallback: 'periodic rescan only' });
    }
  }

  /** Stops watching; retires every site (each closes when its last response ends). */
  close(): void {
    for (const w of this.watchers) w.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const site of this.sites.values()) site.webroot.retire();
    this.sites.clear();
  }
}

function safeRealpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
