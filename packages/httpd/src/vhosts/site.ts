import type { Entry, StoredObject, Webroot } from '@webroot/format';

/**
 * A Map that holds at most `capacity` keys, dropping the oldest insertion
 * first: per-site caches of derived strings must stay bounded on a site of a
 * million files, where the entries they are derived from come and go from
 * the reader's own bounded cache. A Map still, so its users need not change.
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

/** Header blocks kept per site (each a few hundred bytes). */
export const HEAD_CACHE_ENTRIES = 65_536;
/** Directory listings kept per site (autoindex); each is built with one index scan. */
export const LISTING_CACHE_ENTRIES = 64;

/**
 * One loaded site: a webroot plus per-site caches of things derived from its
 * immutable index (header blocks, directory listings), all bounded. Replaced
 * whole on swap.
 */
export class Site {
  /** Fixed header lines per stored object (a file's identity or one of its variants). */
  readonly headCache = new BoundedMap<StoredObject, string>(HEAD_CACHE_ENTRIES);
  /** Header lines of a 304 per stored object. */
  readonly notModifiedCache = new BoundedMap<StoredObject, string>(HEAD_CACHE_ENTRIES);
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
