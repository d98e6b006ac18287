import fs from 'node:fs';
import path from 'node:path';
import { openWebroot, type FileIdentity } from '@webroot/format';
import { errorFields, type Logger } from '../log.js';
import { groupEntryNames } from './entry-names.js';
import { openProblem, statProblem, type EntryProblem } from './entry-problem.js';
import { Site, type UnavailableSite } from './site.js';
import { boundHeapGrowthFor } from '../cluster/heap-growth.js';

export const DEFAULT_SITE = '__default__';

function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export { hostKey } from './entry-names.js';

/**
 * The sites of a vhosts directory. `rescan()` re-resolves every entry and
 * loads what changed (by device, inode, size, mtime of the file it resolves
 * to). A new webroot is opened and validated before it replaces the old one;
 * the old one is retired and closes when its last response ends. Watch
 * events, SIGHUP and a periodic timer all just call `rescan()`.
 *
 * An entry that exists but has never loaded (unreadable, corrupt, dangling),
 * and every entry of an ambiguous pair (names that differ only by case), is
 * unavailable: its host gets 503, never `__default__`'s content, until a
 * valid version loads. A bad version swapped over a loaded one is refused and
 * the loaded one keeps serving.
 */
export class VhostRegistry {
  protected readonly sites = new Map<string, Site>();
  /** Hosts whose entry exists but has nothing loaded to serve. */
  private readonly unavailable = new Map<string, UnavailableSite>();
  /** Entries that failed, by name, with the problem that failed, so the same problem is reported once. */
  protected readonly refused = new Map<string, string>();
  /** Why each refused entry failed (for /readyz). */
  private readonly refusedWhy = new Map<string, string>();
  /** Ambiguous names already warned about, by host key. */
  private readonly ambiguousReported = new Map<string, string>();
  /** Whether the "nothing to serve" warning is out (it is repeated only after a site loaded again). */
  private warnedEmpty = false;
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

  /** Entries that exist but are not being served (never loaded, refused with no previous version, or ambiguous), with why. */
  notLoaded(): { name: string; reason: string }[] {
    const out = new Map<string, string>();
    for (const [name, reason] of this.refusedWhy) if (!this.sites.has(name)) out.set(name, reason);
    for (const [name, u] of this.unavailable) if (!this.sites.has(name)) out.set(name, u.reason);
    return [...out].map(([name, reason]) => ({ name, reason }));
  }

  /**
   * The site for a normalised host, falling back to __default__ only when the
   * host has no entry at all; an entry that cannot be served is unavailable.
   */
  lookup(host: string): Site | UnavailableSite | undefined {
    return this.sites.get(host) ?? this.unavailable.get(host) ?? this.sites.get(DEFAULT_SITE) ?? this.unavailable.get(DEFAULT_SITE);
  }

  get names(): string[] {
    return [...this.sites.keys()].sort();
  }

  rescan(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Out of descriptors (EMFILE, ENFILE) is the process's state, not the directory's: this rescan is
      // skipped, every loaded site keeps serving, and the next rescan tries again.
      if (code === 'EMFILE' || code === 'ENFILE') this.log.log('warn', 'rescan-skipped', { dir: this.dir, ...errorFields(err), retry: 'at the next rescan' });
      else this.log.log('error', 'vhosts-unreadable', { dir: this.dir, ...errorFields(err) });
      return;
    }
    const { single, ambiguous } = groupEntryNames(names);
    for (const [key, name] of single) this.load(key, path.join(this.dir, name));
    for (const [key, group] of ambiguous) this.refuseAmbiguous(key, group);
    const seen = (key: string) => single.has(key) || ambiguous.has(key);
    for (const [key, site] of this.sites) {
      if (seen(key)) continue;
      this.sites.delete(key);
      site.webroot.retire();
      this.log.log('info', 'vhost-removed', { vhost: key });
    }
    for (const key of this.unavailable.keys()) if (!seen(key)) this.unavailable.delete(key);
    for (const key of this.refused.keys()) if (!seen(key)) this.refused.delete(key);
    for (const key of this.refusedWhy.keys()) if (!seen(key)) this.refusedWhy.delete(key);
    for (const key of this.ambiguousReported.keys()) if (!ambiguous.has(key)) this.ambiguousReported.delete(key);
    this.warnIfEmpty(names.length);
  }

  /** Two or more names for one host: serve none of them (not even a version loaded before) until one remains. */
  private refuseAmbiguous(key: string, group: readonly string[]): void {
    const reason = `entries ${group.map((n) => JSON.stringify(n)).join(' and ')} name the same host ${key} (names are compared without case); remove or rename all but one`;
    this.unavailable.set(key, { kind: 'unavailable', name: key, reason });
    this.refused.delete(key); // once resolved, the remaining entry loads (and is reported) afresh
    const site = this.sites.get(key);
    if (site) {
      this.sites.delete(key);
      site.webroot.retire();
    }
    const reported = group.join('\0');
    if (this.ambiguousReported.get(key) === reported) return;
    this.ambiguousReported.set(key, reported);
    this.log.log('warn', 'vhost-ambiguous', { vhost: key, entries: group, error: reason, serving: 'neither (503)' });
  }

  /** Once, when a rescan leaves nothing that can be served (an empty directory, or every entry refused). */
  private warnIfEmpty(entryCount: number): void {
    if (this.sites.size > 0) {
      this.warnedEmpty = false;
      return;
    }
    if (this.warnedEmpty) return;
    this.warnedEmpty = true;
    const what = this.unavailable.size > 0 ? `every entry was refused (${[...this.unavailable.keys()].sort().join(', ')})` : entryCount === 0 ? 'it is empty' : 'it has no entry (names starting with "." are ignored)';
    this.log.log('warn', 'no-sites', {
      dir: this.dir,
      error: `nothing to serve in ${this.dir}: ${what}; every request gets 404 or 503 until a webroot loads. Link one as ${path.join(this.dir, DEFAULT_SITE)} (or name the entry after a host): ln -s /path/to/site.webroot ${path.join(this.dir, DEFAULT_SITE)}`,
    });
  }

  protected load(key: string, entryPath: string): void {
    const current = this.sites.get(key);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(entryPath);
    } catch (err) {
      this.refuse(key, entryPath, statProblem(entryPath, err), current !== undefined);
      return;
    }
    const identity: FileIdentity = { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
    if (current && sameIdentity(current.webroot.identity, identity)) return;
    const idKey = `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeMs}`;
    if (this.refused.get(key) === idKey) return;
    const started = process.hrtime.bigint();
    try {
      const webroot = openWebroot(entryPath);
      boundHeapGrowthFor(webroot.size);
      this.sites.set(key, new Site(key, webroot));
      this.unavailable.delete(key);
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
      this.refuse(key, entryPath, openProblem(entryPath, err, idKey), current !== undefined);
    }
  }

  private refuse(key: string, entryPath: string, problem: EntryProblem, keptOld: boolean): void {
    // Nothing loaded to keep serving: the host is unavailable (503), not __default__.
    if (!keptOld) this.unavailable.set(key, { kind: 'unavailable', name: key, reason: problem.reason });
    if (this.refused.get(key) === problem.key) return;
    this.refused.set(key, problem.key);
    this.refusedWhy.set(key, problem.reason);
    this.swaps.refused++;
    this.log.log(keptOld ? 'warn' : 'error', 'vhost-refused', {
      vhost: key,
      file: entryPath,
      ...problem.fields,
      ...(keptOld ? { keeping: 'previous version' } : { serving: '503 until a valid version loads' }),
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
    this.unavailable.clear();
  }
}

function safeRealpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
