import { WebrootError, compileRules, headerFields, pathSegments, type CompiledRules, type Entry, type Field, type SiteIndex, type Webroot } from '@webroot/format';

/** Distinct request paths whose `_headers` fields are kept per site (then the memo starts over). */
const FIELD_MEMO_ENTRIES = 4096;

/**
 * One loaded site: a webroot plus what is derived from its immutable index
 * (directory listings, the compiled site rules). Replaced whole on swap.
 */
export class Site {
  readonly kind = 'site';
  /** The webroot's rules, compiled once when it is loaded (before it can replace the old version). */
  readonly rules: CompiledRules;
  /** What the rules evaluator reads of the index. */
  readonly index: SiteIndex;
  private listings?: Map<string, Entry[]>;
  private readonly fieldMemo = new Map<string, readonly Field[]>();
  private readonly hostHeaders: boolean;

  constructor(
    readonly name: string,
    readonly webroot: Webroot,
  ) {
    try {
      this.rules = compileRules(webroot.rules);
    } catch (err) {
      webroot.close();
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${webroot.file}: bad site rules (${(err as Error).message})`, webroot.file, { cause: err });
    }
    this.index = { kindOf: (p) => webroot.lookup(p)?.kind };
    this.hostHeaders = webroot.rules.headers.some((h) => h.host !== undefined);
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
