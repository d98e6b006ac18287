import { WebrootError, headerFields, pathSegments, type CompiledRules, type Entry, type Field, type SiteIndex, type Webroot } from '@webroot/format';
import type { Resource } from '../http/response.js';

/** Distinct request paths whose `_headers` fields are kept per site (then the memo starts over). */
const FIELD_MEMO_ENTRIES = 16_384;

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

/** Redirects kept per site, by request (see Site.redirects); then the oldest go first. */
export const REDIRECT_MEMO_ENTRIES = 4096;

/** Directory listings kept per site (autoindex); each is built with one index scan. */
export const LISTING_CACHE_ENTRIES = 64;

/**
 * One loaded site: a webroot plus what is derived from its immutable index
 * (directory listings, bounded; the compiled site rules). Replaced whole on swap.
 */
export class Site {
  readonly kind = 'site';
  /** The webroot's rules, compiled once when it is opened (before it can replace the old version). */
  readonly rules: CompiledRules;
  /** What the rules evaluator reads of the index. */
  readonly index: SiteIndex;
  private readonly listings = new BoundedMap<string, Entry[]>(LISTING_CACHE_ENTRIES);
  /**
   * Redirects already decided, by everything the decision depends on (see
   * resolvePath): the rules and the index are immutable, so the same request
   * gets the same redirect, and a hit costs one map lookup instead of the rule
   * evaluation; the same object each time also lets serializers reuse its head.
   * Bounded: a client choosing query strings only makes the oldest go.
   */
  readonly redirects = new BoundedMap<string, Resource>(REDIRECT_MEMO_ENTRIES);
  private readonly fieldMemo = new Map<string, readonly Field[]>();
  private readonly hostHeaders: boolean;

  constructor(
    readonly name: string,
    readonly webroot: Webroot,
    /** Per-host settings from the configuration file ([[host]]), over the server-wide ones. */
    readonly settings?: SiteSettings,
    /** The rules already compiled for this webroot (a per-host view of a loaded site shares them). */
    compiled?: CompiledRules,
  ) {
    try {
      this.rules = compiled ?? webroot.compiledRules;
    } catch (err) {
      webroot.close();
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${webroot.file}: bad site rules (${(err as Error).message})`, webroot.file, { cause: err });
    }
    this.index = { kindOf: (p) => webroot.lookup(p)?.kind };
    this.hostHeaders = this.rules.hostHeaders;
  }

  /**
   * The `_headers` fields of a request path, the same array for the same path:
   * serializers cache header blocks by the identity of `extra`, so a fresh
   * array per request would rebuild every response head.
   */
  readonly headerFields = (host: string, path: string): readonly Field[] => {
    const key = this.hostHeaders ? `${host}\n${path}` : path;
    let fields = this.fieldMemo.get(key);
    if (fields === undefined) {
      fields = headerFields(this.rules, host, pathSegments(path));
      if (this.fieldMemo.size >= FIELD_MEMO_ENTRIES) this.fieldMemo.clear();
      this.fieldMemo.set(key, fields);
    }
    return fields;
  };

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

export interface SiteSettings {
  cacheControl?: string;
  autoindex?: boolean;
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
