import type { Entry, Webroot } from '@webroot/format';

/**
 * One loaded site: a webroot plus what is derived from its immutable index
 * (directory listings). Replaced whole on swap.
 */
export class Site {
  readonly kind = 'site';
  private listings?: Map<string, Entry[]>;

  constructor(
    readonly name: string,
    readonly webroot: Webroot,
  ) {}

  /** Entries directly inside directory `dir` ('/' or '/a/b'), sorted by path. */
  children(dir: string): Entry[] {
    if (!this.listings) {
      const map = new Map<string, Entry[]>();
      for (const e of this.webroot.all()) {
        if (e.path === '/') continue;
        const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
        const list = map.get(parent) ?? [];
        list.push(e);
        map.set(parent, list);
      }
      for (const list of map.values()) list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      this.listings = map;
    }
    return this.listings.get(dir) ?? [];
  }
}

/**
 * A host whose entry exists but cannot be served (unreadable, corrupt, a
 * dangling link, or ambiguous with another entry): answered 503 with
 * Retry-After, never with another site's content.
 */
export interface UnavailableSite {
  readonly kind: 'unavailable';
  readonly name: string;
  /** For the log, not for the client. */
  readonly reason: string;
}
