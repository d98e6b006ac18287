/**
 * Rules compiled into lookup tables: a request costs a map lookup for exact
 * paths and a few pattern tests for the rules that share its first segment,
 * not a regular expression per rule.
 *
 * Each rule goes in one place: exact paths by (host, path); patterns by
 * (host, first literal segment), or a per-host list when the pattern starts
 * with a placeholder or is `/*`. The candidates of a request are merged back
 * into file order, so the first match is the first in the file.
 *
 * Exact-path redirect rules come from an `ExactRules` source: a map built from
 * every rule (`compileRules`), or the webroot's `redirect_lookup` table read on
 * demand (reader/rules.ts), so that opening a site with 2,000 exact redirects
 * does not read or compile them (FORMAT.md section 1.2).
 */
import { exactKey, parsePathPattern, type PathPattern } from './pattern.js';
import type { BuildOptions, HeaderBlock, RedirectRule, SiteRules } from './types.js';
import { rulesProblem } from './validate.js';

/** A redirect rule with its parsed FROM and its 1-based position in `_redirects`. */
export interface CompiledRedirect {
  readonly position: number;
  readonly pattern: PathPattern;
  readonly rule: RedirectRule;
}

/** A `_headers` block with its parsed pattern and its 1-based position. */
export interface CompiledHeaderBlock {
  readonly position: number;
  readonly pattern: PathPattern;
  readonly block: HeaderBlock;
}

/** Where exact-path redirect rules come from. */
export interface ExactRules {
  /** The rules whose FROM is exactly `path` ('/', '/a/b'), for any host or for `host`, in file order. */
  lookup(host: string, path: string): readonly CompiledRedirect[];
}

interface Table<T> {
  readonly exact: Map<string, T[]>;
  readonly byFirst: Map<string, T[]>;
  readonly open: T[];
}

const NONE: readonly never[] = Object.freeze([]);

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/** Items with patterns, bucketed per host ('' holds the items for any host). */
export class PatternTable<T extends { readonly position: number; readonly pattern: PathPattern }> {
  private readonly tables = new Map<string, Table<T>>();

  /** Adds items in file order. */
  add(host: string | undefined, item: T): void {
    const hostKey = host ?? '';
    let t = this.tables.get(hostKey);
    if (!t) this.tables.set(hostKey, (t = { exact: new Map(), byFirst: new Map(), open: [] }));
    const p = item.pattern;
    const exact = exactKey(p);
    if (exact !== undefined) push(t.exact, exact, item);
    else if (p.segments[0]?.kind === 'literal') push(t.byFirst, p.segments[0].text, item);
    else t.open.push(item);
  }

  /** Appends to `lists` the lists of items that may match `segs` (path `key`) for `host`. */
  collect(host: string, key: string, segs: readonly string[], lists: (readonly T[])[]): void {
    const first = segs[0];
    for (const t of [this.tables.get(''), host === '' ? undefined : this.tables.get(host)]) {
      if (!t) continue;
      const e = t.exact.get(key);
      if (e) lists.push(e);
      if (first !== undefined) {
        const b = t.byFirst.get(first);
        if (b) lists.push(b);
      }
      if (t.open.length > 0) lists.push(t.open);
    }
  }
}

/** The lists merged into file order (by position); a single list is returned as it is. */
function inFileOrder<T extends { readonly position: number }>(lists: (readonly T[])[]): readonly T[] {
  if (lists.length === 0) return NONE;
  if (lists.length === 1) return lists[0]!;
  return lists.flat().sort((a, b) => a.position - b.position);
}

export const segmentsKey = (segs: readonly string[]): string => `/${segs.join('/')}`;

/** Paths whose redirect candidates a site remembers (then the memo starts over). */
const CANDIDATE_MEMO = 16_384;

/**
 * A site's rules, ready to evaluate. The same class serves a site compiled
 * from `SiteRules` in memory and one read from a webroot on demand.
 */
export class CompiledRules {
  readonly empty: boolean;
  /** Whether some `_headers` block is domain-level (its fields then depend on the host). */
  readonly hostHeaders: boolean;
  /** Whether some redirect rule is domain-level (what the rules decide then depends on the host). */
  readonly hostRedirects: boolean;

  constructor(
    readonly options: BuildOptions,
    /** Every redirect rule, exact paths included when `exact` is undefined. */
    private readonly redirectTable: PatternTable<CompiledRedirect>,
    private readonly headerTable: PatternTable<CompiledHeaderBlock>,
    readonly redirectCount: number,
    readonly headerCount: number,
    hostHeaders: boolean,
    hostRedirects: boolean,
    private readonly exact?: ExactRules,
  ) {
    this.empty = redirectCount === 0 && headerCount === 0;
    this.hostHeaders = hostHeaders;
    this.hostRedirects = hostRedirects;
  }

  /** redirectCandidatesOf's memo: (host, when a rule is domain-level, and) path key -> candidates. */
  private readonly candidateMemo = new Map<string, readonly CompiledRedirect[]>();

  /**
   * redirectCandidates for a request path ('/a/b', '/a/b/'), memoized (the rules are immutable): most requests of
   * a site with rules match none, and a memo hit costs one Map lookup instead of splitting the path, an exact-path
   * lookup and the buckets. `segsOf` gives the path's segments when they are needed.
   */
  redirectCandidatesOf(host: string, path: string, segsOf: () => readonly string[]): readonly CompiledRedirect[] {
    if (this.redirectCount === 0) return NONE;
    const pathKey = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path === '' ? '/' : path;
    const key = this.hostRedirects ? `${host}\n${pathKey}` : pathKey;
    let found = this.candidateMemo.get(key);
    if (found === undefined) {
      found = this.redirectCandidates(host, segsOf());
      if (this.candidateMemo.size >= CANDIDATE_MEMO) this.candidateMemo.clear();
      this.candidateMemo.set(key, found);
    }
    return found;
  }

  /** The redirect rules that may match a request path, in file order. */
  redirectCandidates(host: string, segs: readonly string[]): readonly CompiledRedirect[] {
    if (this.redirectCount === 0) return NONE;
    const key = segmentsKey(segs);
    const lists: (readonly CompiledRedirect[])[] = [];
    if (this.exact !== undefined) {
      const e = this.exact.lookup(host, key);
      if (e.length > 0) lists.push(e);
    }
    this.redirectTable.collect(host, key, segs, lists);
    return inFileOrder(lists);
  }

  /** The `_headers` blocks that may match a request path, in file order. */
  headerCandidates(host: string, segs: readonly string[]): readonly CompiledHeaderBlock[] {
    if (this.headerCount === 0) return NONE;
    const lists: (readonly CompiledHeaderBlock[])[] = [];
    this.headerTable.collect(host, segmentsKey(segs), segs, lists);
    return inFileOrder(lists);
  }
}

/** Parses the patterns of rules and blocks; throws an Error naming the first bad one. */
export function compileRedirects(rules: readonly { position: number; rule: RedirectRule }[]): CompiledRedirect[] {
  return rules.map(({ position, rule }) => {
    const p = parsePathPattern(rule.from);
    if ('error' in p) throw new Error(`redirect rule of line ${rule.line}: ${p.error}`);
    return { position, pattern: p, rule };
  });
}

export function compileHeaderBlocks(blocks: readonly HeaderBlock[]): CompiledHeaderBlock[] {
  return blocks.map((block, i) => {
    const p = parsePathPattern(block.pattern);
    if ('error' in p) throw new Error(`header block of line ${block.line}: ${p.error}`);
    return { position: i + 1, pattern: p, block };
  });
}

/**
 * Builds the matcher from compiled rules. `redirects` are all rules when
 * `exact` is undefined, else the pattern rules only (the exact ones come from
 * `exact`, and `exactHosts` says whether some of those are domain-level);
 * `redirectCount` counts them all.
 */
export function buildMatcher(
  options: BuildOptions,
  redirects: readonly CompiledRedirect[],
  headers: readonly CompiledHeaderBlock[],
  redirectCount: number,
  exact?: { rules: ExactRules; hosts: boolean },
): CompiledRules {
  const redirectTable = new PatternTable<CompiledRedirect>();
  for (const r of redirects) redirectTable.add(r.rule.host, r);
  const headerTable = new PatternTable<CompiledHeaderBlock>();
  for (const h of headers) headerTable.add(h.block.host, h);
  const hostHeaders = headers.some((h) => h.block.host !== undefined);
  const hostRedirects = redirects.some((r) => r.rule.host !== undefined) || exact?.hosts === true;
  return new CompiledRules(options, redirectTable, headerTable, redirectCount, headers.length, hostHeaders, hostRedirects, exact?.rules);
}

/** Compiles a site's rules, checking them all (rulesProblem); throws an Error naming the first bad one. Pure: same rules, same tables. */
export function compileRules(rules: SiteRules): CompiledRules {
  const redirects = compileRedirects(rules.redirects.map((rule, i) => ({ position: i + 1, rule })));
  const headers = compileHeaderBlocks(rules.headers);
  const problem = rulesProblem(rules, { redirects: redirects.map((r) => r.pattern), headers: headers.map((h) => h.pattern) });
  if (problem !== undefined) throw new Error(problem);
  return buildMatcher(rules.options, redirects, headers, rules.redirects.length);
}
