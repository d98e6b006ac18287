import crypto from 'node:crypto';
import { HASH_ALGORITHM } from '../constants.js';
import type { SiteRules } from './types.js';

/**
 * The canonical text of a site's rules: JSON of arrays in a fixed field
 * order. The writer stores its SHA-256 as meta `rules_sha256`; `verify`
 * recomputes it from the tables (FORMAT.md section 1.2).
 */
export function canonicalRules(r: SiteRules): string {
  return JSON.stringify([
    r.redirects.map((x) => [x.line, x.source, x.host ?? null, x.from, x.query.map((q) => [q.key, q.value]), x.to, x.status, x.force]),
    r.headers.map((h) => [h.line, h.host ?? null, h.pattern, h.ops.map((op) => (op.op === 'set' ? [op.line, op.name, op.value] : [op.line, op.name, null]))]),
    [r.options.cleanUrls, r.options.trailingSlash],
  ]);
}

export function rulesDigest(r: SiteRules): string {
  return crypto.createHash(HASH_ALGORITHM).update(canonicalRules(r)).digest('hex');
}
