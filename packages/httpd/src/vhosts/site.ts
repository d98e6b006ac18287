import type { Entry, Webroot } from '@webroot/format';

/**
 * A Map that holds at most `capacity` keys, dropping the oldest insertion
 * first: per-site caches of derived data must stay bounded on a site of a
 * million files, where the entries they derive from come and go from the
 * reader's own bounded cache. A Map still, so its users need not change.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly capacity: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.capacity) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/** Directory listings kept per site (autoindex); each is built with one index scan. */
export const LISTING_CACHE_ENTRIES = 64;

/**
 * One loaded site: a webroot plus what is derived from its immutable index
 * (directory listings, bounded). Replaced whole on swap.
 */
export class Site {
  readonly kind = 'site';
  private readonly listings = new BoundedMap<string, Entry[]>(LISTING_CACHE_ENTRIES);

  constructor(
    readonly name: string,
    readonly webroot: Webroot,
  ) {}

  /**
   * Entries directly inside directory `dir` ('/' or '/a/b'), in path order:
   * read from the index on demand (one scan that skips each subdirectory's
   * contents), not from a map of every entry built on first use.
   */
  children(dir: string): Entry[] {
    let list = this.listings.get(dir);
    if (list === undefined) {
      list = this.webroot.children(dir);
      this.listings.set(dir, list);
    }
    return list;
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
