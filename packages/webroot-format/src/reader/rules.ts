import type Database from 'better-sqlite3';
import { WebrootError } from '../errors.js';
import { compileRules, type CompiledRules } from '../rules/matcher.js';
import { NO_RULES, TRAILING_SLASH_POLICIES, type HeaderBlock, type HeaderOp, type QueryCondition, type RedirectRule, type RuleStatus, type SiteRules, type TrailingSlashPolicy } from '../rules/types.js';

export interface LoadedRules {
  rules: SiteRules;
  /** Compiled (and so checked) once, here: httpd serves from this, mkroot test-rules evaluates it. */
  compiled: CompiledRules;
  /** meta rules_sha256 (version 2), which verify() checks against the tables. */
  digest: string | undefined;
}

/** Parses the stored query conditions: '' or 'key=value' joined by '&' (FORMAT.md section 1.2). */
function parseQuery(text: string): QueryCondition[] {
  if (text === '') return [];
  return text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`malformed query condition ${JSON.stringify(pair)}`);
    return { key: pair.slice(0, eq), value: pair.slice(eq + 1) };
  });
}

/** The rules of a webroot: none for version 1; for version 2 the rule tables, checked. */
export function loadRules(db: Database.Database, version: number, file: string): LoadedRules {
  if (version < 2) return { rules: NO_RULES, compiled: compileRules(NO_RULES), digest: undefined };
  const corrupt = (msg: string) => new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: ${msg}`, file);
  const digest = db.prepare("SELECT value FROM meta WHERE key = 'rules_sha256'").pluck().get() as string | undefined;
  if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) throw corrupt("meta 'rules_sha256' is missing or not a SHA-256 hex digest");
  const redirects: RedirectRule[] = (
    db.prepare('SELECT line, source, host, from_path, query, to_target, status, force FROM redirect_rules ORDER BY position').raw().all() as [number, string, string | null, string, string, string, number, number][]
  ).map(([line, source, host, from, query, to, status, force]) => ({
    line,
    source,
    // A plain property, not a conditional spread: V8 clones spread literals on a slow path (2,000 rules: ~6 ms).
    host: host ?? undefined,
    from,
    query: parseQuery(query),
    to,
    status: status as RuleStatus,
    force: force === 1,
  }));
  const opsByBlock = new Map<number, HeaderOp[]>();
  for (const [block, line, name, value] of db.prepare('SELECT block, line, name, value FROM header_fields ORDER BY block, position').raw().all() as [number, number, string, string | null][]) {
    const ops = opsByBlock.get(block) ?? [];
    ops.push(value === null ? { op: 'remove', line, name } : { op: 'set', line, name, value });
    opsByBlock.set(block, ops);
  }
  const blockRows = db.prepare('SELECT position, line, host, pattern FROM header_blocks ORDER BY position').raw().all() as [number, number, string | null, string][];
  const headers: HeaderBlock[] = blockRows.map(([position, line, host, pattern]) => ({ line, host: host ?? undefined, pattern, ops: opsByBlock.get(position) ?? [] }));
  const positions = new Set(blockRows.map((r) => r[0]));
  for (const b of opsByBlock.keys()) if (!positions.has(b)) throw corrupt('a header field belongs to no header block');
  const opts = new Map((db.prepare('SELECT key, value FROM build_options').raw().all() as [string, string][]).map(([k, v]) => [k, v]));
  const cleanUrls = opts.get('clean_urls') ?? '0';
  const trailingSlash = opts.get('trailing_slash') ?? 'always';
  if ((cleanUrls !== '0' && cleanUrls !== '1') || !TRAILING_SLASH_POLICIES.includes(trailingSlash as TrailingSlashPolicy)) throw corrupt('malformed build options');
  const rules: SiteRules = { redirects, headers, options: { cleanUrls: cleanUrls === '1', trailingSlash: trailingSlash as TrailingSlashPolicy } };
  let compiled: CompiledRules;
  try {
    compiled = compileRules(rules);
  } catch (err) {
    throw corrupt(`bad site rules: ${(err as Error).message}`);
  }
  return { rules, compiled, digest };
}
