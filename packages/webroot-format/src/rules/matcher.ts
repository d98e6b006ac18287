/**
 * Rules compiled once, when a webroot opens, into lookup tables: a request
 * costs a map lookup for exact paths and a few pattern tests for the rules
 * that share its first segment, not a regular expression per rule.
 *
 * Each rule goes in one place: exact paths by (host, path); patterns by
 * (host, first literal segment), or a per-host list when the pattern starts
 * with a placeholder or is `/*`. The candidates of a request are merged back
 * into file order, so the first match is the first in the file.
 */
import { exactKey, parsePathPattern, type PathPattern } from './pattern.js';
import type { HeaderBlock, RedirectRule, SiteRules } from './types.js';
import { rulesProblem } from './validate.js';

interface Table {
  readonly exact: Map<string, number[]>;
  readonly byFirst: Map<string, number[]>;
  readonly open: number[];
}

export interface CompiledPatterns {
  readonly patterns: readonly PathPattern[];
  /** '' holds the rules for any host. */
  readonly tables: ReadonlyMap<string, Table>;
}

function push(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (list) list.push(i);
  else map.set(key, [i]);
}

/** Compiles patterns (in file order) with their hosts; throws an Error naming the first bad one. */
export function compilePatterns(items: readonly { pattern: string; host?: string | undefined; line: number }[]): CompiledPatterns {
  const patterns: PathPattern[] = [];
  const tables = new Map<string, Table>();
  items.forEach((item, i) => {
    const p = parsePathPattern(item.pattern);
    if ('error' in p) throw new Error(`line ${item.line}: ${p.error}`);
    patterns.push(p);
    const hostKey = item.host ?? '';
    let t = tables.get(hostKey);
    if (!t) tables.set(hostKey, (t = { exact: new Map(), byFirst: new Map(), open: [] }));
    const exact = exactKey(p);
    if (exact !== undefined) push(t.exact, exact, i);
    else if (p.segments[0]?.kind === 'literal') push(t.byFirst, p.segments[0].text, i);
    else t.open.push(i);
  });
  return { patterns, tables };
}

/** Indices of the rules that may match, ascending (file order). */
export function candidates(c: CompiledPatterns, host: string, segs: readonly string[]): number[] {
  const key = `/${segs.join('/')}`;
  const first = segs[0];
  const lists: number[][] = [];
  for (const t of [c.tables.get(''), host === '' ? undefined : c.tables.get(host)]) {
    if (!t) continue;
    const e = t.exact.get(key);
    if (e) lists.push(e);
    if (first !== undefined) {
      const b = t.byFirst.get(first);
      if (b) lists.push(b);
    }
    if (t.open.length > 0) lists.push(t.open);
  }
  if (lists.length === 0) return [];
  if (lists.length === 1) return lists[0]!;
  return lists.flat().sort((a, b) => a - b);
}

export interface CompiledRules {
  readonly rules: SiteRules;
  readonly redirects: CompiledPatterns;
  readonly headers: CompiledPatterns;
  /** True when there is nothing to evaluate but the build options. */
  readonly empty: boolean;
}

/** Compiles a site's rules, checking them all (rulesProblem); throws an Error naming the first bad one. Pure: same rules, same tables. */
export function compileRules(rules: SiteRules): CompiledRules {
  const redirects = compilePatterns(rules.redirects.map((r: RedirectRule) => ({ pattern: r.from, host: r.host, line: r.line })));
  const headers = compilePatterns(rules.headers.map((h: HeaderBlock) => ({ pattern: h.pattern, host: h.host, line: h.line })));
  const problem = rulesProblem(rules, { redirects: redirects.patterns, headers: headers.patterns });
  if (problem !== undefined) throw new Error(problem);
  return { rules, redirects, headers, empty: rules.redirects.length === 0 && rules.headers.length === 0 };
}

