import type { Entry, StoredObject, Webroot } from '@webroot/format';

/**
 * One loaded site: a webroot plus per-site caches of things derived from its
 * immutable index (header blocks, directory listings). Replaced whole on swap.
 */
export class Site {
  /** Fixed header lines per stored object (a file's identity or one of its variants). */
  readonly headCache = new Map<StoredObject, string>();
  /** Header lines of a 304 per stored object. */
  readonly notModifiedCache = new Map<StoredObject, string>();
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

/** True for the marker of a host that exists but cannot be served. */
export function isUnavailable(site: Site | UnavailableSite): site is UnavailableSite {
  return (site as Partial<UnavailableSite>).kind === 'unavailable';
}
