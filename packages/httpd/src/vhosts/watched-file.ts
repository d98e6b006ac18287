import fs from 'node:fs';
import path from 'node:path';
import { openWebroot, type FileIdentity } from '@webroot/format';
import { errorFields, type Logger } from '../log.js';
import { Site } from './site.js';
import { boundHeapGrowthFor } from '../cluster/heap-growth.js';

/** What a WatchedWebroot reports through: our Logger, or anything with the same `log` method. */
export type LogSink = Pick<Logger, 'log'>;

function identityOf(stat: fs.Stats): FileIdentity {
  return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
}

function idKey(i: FileIdentity): string {
  return `${i.dev}:${i.ino}:${i.size}:${i.mtimeMs}`;
}

/**
 * One webroot file (or a symlink to one), kept current like a vhost entry
 * (see registry.ts): `check()` stats what the path resolves to and, when its
 * (device, inode, size, mtime) changed, opens and validates the new file
 * before it replaces the old one, which is retired and closes when its last
 * response ends. A file that fails is logged once per identity and the old
 * one keeps serving. fs.watch on the file's directory (an `mv -T` replaces the
 * directory entry) and a periodic timer both just call `check()`.
 * The first open happens in the constructor and throws the reader's typed
 * error (WEBROOT_*): a bad file at start-up is the caller's to report.
 */
export class WatchedWebroot {
  private site: Site;
  private refused: string | undefined;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly log: LogSink,
  ) {
    this.site = new Site(path.basename(file), openWebroot(file));
    boundHeapGrowthFor(this.site.webroot.size);
  }

  /** The site currently served. */
  get current(): Site {
    return this.site;
  }

  /** Re-resolves the path and swaps in a changed file; returns whether a swap happened. */
  check(): boolean {
    if (this.closed) return false;
    let identity: FileIdentity;
    try {
      identity = identityOf(fs.statSync(this.file));
    } catch (err) {
      this.refuse(`stat:${(err as NodeJS.ErrnoException).code}`, err);
      return false;
    }
    const old = this.site.webroot;
    const o = old.identity;
    if (o.dev === identity.dev && o.ino === identity.ino && o.size === identity.size && o.mtimeMs === identity.mtimeMs) return false;
    const key = idKey(identity);
    if (this.refused === key) return false;
    try {
      const webroot = openWebroot(this.file);
      boundHeapGrowthFor(webroot.size);
      this.site = new Site(this.site.name, webroot);
      this.refused = undefined;
      old.retire();
      this.log.log('info', 'webroot-swapped', { file: this.file, entries: webroot.size });
      return true;
    } catch (err) {
      this.refuse(key, err);
      return false;
    }
  }

  private refuse(key: string, err: unknown): void {
    if (this.refused === key) return;
    this.refused = key;
    this.log.log('warn', 'webroot-refused', { file: this.file, ...errorFields(err), keeping: 'previous version' });
  }

  /** Starts watching (a hint) and the periodic check; neither keeps the process alive. */
  watch(intervalMs: number, useWatch = true): void {
    const base = path.basename(this.file);
    if (useWatch) {
      try {
        this.watcher = fs.watch(path.dirname(path.resolve(this.file)), { persistent: false }, (_event, name) => {
          if (name !== null && name !== base) return;
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => this.check(), 10);
          this.debounce.unref();
        });
        this.watcher.on('error', (err) => this.log.log('warn', 'watch-failed', { file: this.file, ...errorFields(err) }));
      } catch (err) {
        this.log.log('warn', 'watch-failed', { file: this.file, ...errorFields(err), fallback: 'periodic check only' });
      }
    }
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.check(), intervalMs);
      this.timer.unref();
    }
  }

  /** Stops watching and retires the current file (it closes when its last response ends). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.site.webroot.retire();
  }
}
