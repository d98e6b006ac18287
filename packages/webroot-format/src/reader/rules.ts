/**
 * The site rules of a webroot (FORMAT.md section 1.2), read for serving.
 *
 * A file with the `redirect_lookup` table (written by mkroot since that table
 * exists) is opened without reading its exact-path redirect rules: the open
 * reads the pattern rules, the header blocks and the build options, checks the
 * rule tables' counts in SQL, and looks exact paths up on demand, one indexed
 * query per path behind a bounded cache (a miss is cached too), each row
 * checked as it is read. Measured (bench/rules.mjs): with 2,000 rules, reading
 * and compiling every rule was most of the open. A file without the table (an
 * earlier version-2 file) has every rule read and compiled on open, as before.
 */
import type Database from 'better-sqlite3';
import { REDIRECT_LOOKUP_TABLE } from '../constants.js';
import { WebrootError } from '../errors.js';
import { redirectLookupRows } from '../rules/lookup-rows.js';
import { buildMatcher, compileHeaderBlocks, compileRedirects, compileRules, type CompiledRedirect, type CompiledRules, type ExactRules } from '../rules/matcher.js';
import { exactKey, parsePathPattern } from '../rules/pattern.js';
import { NO_RULES, RULE_LIMITS, TRAILING_SLASH_POLICIES, type BuildOptions, type HeaderBlock, type HeaderOp, type QueryCondition, type RedirectRule, type RuleStatus, type SiteRules, type TrailingSlashPolicy } from '../rules/types.js';
import { redirectRuleProblem, rulesProblem } from '../rules/validate.js';
import { BoundedCache } from './bounded-cache.js';

export interface LoadedRules {
  /** Compiled (and checked) on open: httpd serves from this, mkroot test-rules evaluates it. */
  compiled: CompiledRules;
  /** meta rules_sha256 (version 2), which verify() checks against the tables. */
  digest: string | undefined;
  /** Every rule as stored, read when called (mkroot rules, diff and verify need them all; a server does not). */
  readAll: () => SiteRules;
  /** The problem with the redirect_lookup table given every rule, or undefined (verify). */
  lookupProblem: (rules: SiteRules) => string | undefined;
}

type RuleRow = [line: number, source: string, host: string | null, from: string, query: string, to: string, status: number, force: number];
const RULE_COLUMNS = 'r.line, r.source, r.host, r.from_path, r.query, r.to_target, r.status, r.force';

/** Parses the stored query conditions: '' or 'key=value' joined by '&' (FORMAT.md section 1.2). */
function parseQuery(text: string): QueryCondition[] {
  if (text === '') return [];
  return text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`malformed query condition ${JSON.stringify(pair)}`);
    return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

function toRule([line, source, host, from, query, to, status, force]: RuleRow): RedirectRule {
  return {
    line,
    source,
    // A plain property, not a conditional spread: V8 clones spread literals on a slow path (2,000 rules: ~6 ms).
    host: host ?? undefined,
    from,
    query: parseQuery(query),
    to,
    status: status as RuleStatus,
    force: force === 1,
  };
}

function readHeaderBlocks(db: Database.Database, corrupt: (msg: string) => Error): HeaderBlock[] {
  const opsByBlock = new Map<number, HeaderOp[]>();
  for (const [block, line, name, value] of db.prepare('SELECT block, line, name, value FROM header_fields ORDER BY block, position').raw().all() as [number, number, string, string | null][]) {
    const ops = opsByBlock.get(block) ?? [];
    ops.push(value === null ? { op: 'remove', line, name } : { op: 'set', line, name, value });
    opsByBlock.set(block, ops);
  }
  const blockRows = db.prepare('SELECT position, line, host, pattern FROM header_blocks ORDER BY position').raw().all() as [number, number, string | null, string][];
  const positions = new Set(blockRows.map((r) => r[0]));
  for (const b of opsByBlock.keys()) if (!positions.has(b)) throw corrupt('a header field belongs to no header block');
  return blockRows.map(([position, line, host, pattern]) => ({ line, host: host ?? undefined, pattern, ops: opsByBlock.get(position) ?? [] }));
}

function readOptions(db: Database.Database, corrupt: (msg: string) => Error): BuildOptions {
  const opts = new Map((db.prepare('SELECT key, value FROM build_options').raw().all() as [string, string][]).map(([k, v]) => [k, v]));
  const cleanUrls = opts.get('clean_urls') ?? '0';
  const trailingSlash = opts.get('trailing_slash') ?? 'always';
  if ((cleanUrls !== '0' && cleanUrls !== '1') || !TRAILING_SLASH_POLICIES.includes(trailingSlash as TrailingSlashPolicy)) throw corrupt('malformed build options');
  return { cleanUrls: cleanUrls === '1', trailingSlash: trailingSlash as TrailingSlashPolicy };
}

function readAllRules(db: Database.Database, corrupt: (msg: string) => Error): SiteRules {
  const redirects = (db.prepare(`SELECT ${RULE_COLUMNS} FROM redirect_rules r ORDER BY r.position`).raw().all() as RuleRow[]).map(toRule);
  return { redirects, headers: readHeaderBlocks(db, corrupt), options: readOptions(db, corrupt) };
}

const NONE: readonly CompiledRedirect[] = Object.freeze([]);

/**
 * Exact-path rules read from `redirect_lookup` on demand: one query on its
 * primary key (path, host, position) per path, the rules joined in, behind a
 * CLOCK cache. Every row is checked as it is read: its FROM must be exactly
 * the looked-up path, its host the row's, and the rule well-formed.
 */
class StoredExactRules implements ExactRules {
  private readonly cache: BoundedCache<string, readonly CompiledRedirect[]>;
  private readonly byPath: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly file: string,
    capacity: number,
    /** Whether some exact rule is domain-level: only then does the host belong in the cache key. */
    private readonly perHost: boolean,
  ) {
    this.cache = new BoundedCache(capacity);
    this.byPath = db
      .prepare(
        `SELECT k.position, k.host, ${RULE_COLUMNS} FROM redirect_lookup k JOIN redirect_rules r ON r.position = k.position
         WHERE k.path = ? AND (k.host = '' OR k.host = ?) ORDER BY k.position`,
      )
      .raw();
  }

  lookup(host: string, path: string): readonly CompiledRedirect[] {
    const key = this.perHost ? `${host}\n${path}` : path;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const rows = this.byPath.all(path, this.perHost ? host : '') as [number, string, ...RuleRow][];
    const found = rows.length === 0 ? NONE : rows.map((row) => this.check(path, row));
    this.cache.set(key, found);
    return found;
  }

  private check(path: string, [position, host, ...row]: [number, string, ...RuleRow]): CompiledRedirect {
    const fail = (msg: string) => new WebrootError('WEBROOT_CORRUPT_INDEX', `${this.file}: redirect rule ${position} (redirect_lookup): ${msg}`, this.file);
    let rule: RedirectRule;
    try {
      rule = toRule(row);
    } catch (err) {
      throw fail((err as Error).message);
    }
    const pattern = parsePathPattern(rule.from);
    const problem = redirectRuleProblem(rule, pattern);
    if (problem !== undefined || 'error' in pattern) throw fail(problem ?? 'bad pattern');
    if (exactKey(pattern) !== path || (rule.host ?? '') !== host) throw fail(`its FROM ${JSON.stringify(rule.from)} is not the exact path ${JSON.stringify(path)} of host '${host}' it is filed under`);
    return { position, pattern, rule };
  }
}

/** Opens the rules of a file with redirect_lookup: counts checked in SQL, pattern rules read and compiled, exact ones on demand. */
function loadWithLookup(db: Database.Database, file: string, cacheEntries: number, corrupt: (msg: string) => Error): CompiledRules {
  // One scan of redirect_lookup (its rows are small: ~20 pages for 2,000 rules) and an O(log n) probe of
  // redirect_rules, in one statement; every page touched is a read on a fresh connection. Measured: also scanning
  // the 2,000 rule rows to check their columns in SQL cost 2.4 ms, as much as the rest of the open. So the open
  // checks that the lookup rows name rules 1..n, n of them, and each rule is checked as it is read (the pattern
  // rules now, the exact ones on their first lookup), and whole, with the lookup table, by verify().
  const [rules, keys, low, high, exact, hostExact] = db
    .prepare("SELECT (SELECT max(position) FROM redirect_rules), count(*), min(position), max(position), max(path <> ''), max(path <> '' AND host <> '') FROM redirect_lookup")
    .raw()
    .get() as [number | null, number, number | null, number | null, number | null, number | null];
  if (keys > RULE_LIMITS.redirects) throw corrupt(`bad site rules: ${keys} redirect rules (at most ${RULE_LIMITS.redirects})`);
  if (keys !== (rules ?? 0) || (keys > 0 && (low !== 1 || high !== keys))) throw corrupt('redirect_lookup does not list the redirect rules 1, 2, ... once each');
  const patternRows = db.prepare(`SELECT k.position, k.host, ${RULE_COLUMNS} FROM redirect_lookup k JOIN redirect_rules r ON r.position = k.position WHERE k.path = '' ORDER BY k.position`).raw().all() as [number, string, ...RuleRow][];
  const patterns = patternRows.map(([position, host, ...row]) => {
    const rule = toRule(row);
    if ((rule.host ?? '') !== host) throw corrupt(`redirect rule ${position} is filed under another host in redirect_lookup`);
    return { position, rule };
  });
  const headers = readHeaderBlocks(db, corrupt);
  const options = readOptions(db, corrupt);
  let compiled: CompiledRules;
  try {
    const redirects = compileRedirects(patterns);
    const blocks = compileHeaderBlocks(headers);
    const problem = rulesProblem({ redirects: patterns.map((p) => p.rule), headers, options }, { redirects: redirects.map((r) => r.pattern), headers: blocks.map((b) => b.pattern) });
    if (problem !== undefined) throw new Error(problem);
    for (const r of redirects) if (exactKey(r.pattern) !== undefined) throw new Error(`redirect rule of line ${r.rule.line}: an exact path filed as a pattern in redirect_lookup`);
    compiled = buildMatcher(options, redirects, blocks, keys, exact === 1 ? { rules: new StoredExactRules(db, file, cacheEntries, hostExact === 1), hosts: hostExact === 1 } : undefined);
  } catch (err) {
    throw corrupt(`bad site rules: ${(err as Error).message}`);
  }
  return compiled;
}

/** Compares redirect_lookup with the rows the rules call for (verify). */
function lookupTableProblem(db: Database.Database, rules: SiteRules): string | undefined {
  const stored = db.prepare('SELECT path, host, position FROM redirect_lookup ORDER BY path, host, position').raw().all();
  return JSON.stringify(stored) === JSON.stringify(redirectLookupRows(rules.redirects)) ? undefined : 'redirect_lookup does not match the redirect rules';
}

/** The rules of a webroot: none for version 1; for version 2 the rule tables, checked. */
export function loadRules(db: Database.Database, version: number, file: string, cacheEntries: number): LoadedRules {
  if (version < 2) return { compiled: compileRules(NO_RULES), digest: undefined, readAll: () => NO_RULES, lookupProblem: () => undefined };
  const corrupt = (msg: string) => new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: ${msg}`, file);
  const digest = db.prepare("SELECT value FROM meta WHERE key = 'rules_sha256'").pluck().get() as string | undefined;
  if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) throw corrupt("meta 'rules_sha256' is missing or not a SHA-256 hex digest");
  const hasLookup = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(REDIRECT_LOOKUP_TABLE) !== undefined;
  const readAll = () => readAllRules(db, corrupt);
  if (hasLookup) return { compiled: loadWithLookup(db, file, cacheEntries, corrupt), digest, readAll, lookupProblem: (r) => lookupTableProblem(db, r) };
  // An earlier version-2 file: every rule is read and compiled now.
  const rules = readAll();
  let compiled: CompiledRules;
  try {
    compiled = compileRules(rules);
  } catch (err) {
    throw corrupt(`bad site rules: ${(err as Error).message}`);
  }
  return { compiled, digest, readAll: () => rules, lookupProblem: () => undefined };
}
