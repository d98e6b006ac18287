/**
 * The rows of the `redirect_lookup` table (FORMAT.md section 1.2): one per
 * redirect rule, keyed by the decoded path an exact rule matches ('' for a
 * pattern rule) and its host ('' for any host). Written by the writer, checked
 * against the rules by verify(); the reader uses it to read only the pattern
 * rules on open and to look exact paths up on demand.
 */
import { comparePaths } from '../reader/path-order.js';
import { exactKey, parsePathPattern } from './pattern.js';
import type { RedirectRule } from './types.js';

export type LookupRow = [path: string, host: string, position: number];

/** The rows for `rules` (in file order), in the table's key order (path, host, position). */
export function redirectLookupRows(rules: readonly RedirectRule[]): LookupRow[] {
  const rows = rules.map((r, i): LookupRow => {
    const p = parsePathPattern(r.from);
    return ['error' in p ? '' : (exactKey(p) ?? ''), r.host ?? '', i + 1];
  });
  // comparePaths is SQLite's BINARY order (bytewise UTF-8), the order verify() reads the table in.
  return rows.sort((a, b) => comparePaths(a[0], b[0]) || comparePaths(a[1], b[1]) || a[2] - b[2]);
}
