/**
 * Checks rules as stored (the reader's check of the rule tables, and the last
 * check of mkroot's parsers): the problem with the first bad rule, or
 * undefined. mkroot reports problems with a line and a fix before this runs;
 * this guards against a file written by something else.
 */
import { PLACEHOLDER_NAME, parsePathPattern, targetPlaceholders, type PathPattern } from './pattern.js';
import { RULE_LIMITS, RULE_STATUSES, SERVER_OWNED_FIELDS, TRAILING_SLASH_POLICIES, type RedirectRule, type SiteRules } from './types.js';

/** RFC 9110 section 5.6.2: a field name is a token. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 section 5.5: field-content is visible ASCII, SP and HTAB, not starting or ending with whitespace (we allow no obs-text). */
export const FIELD_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$/;
const HOST = /^[a-z0-9.-]+$/;

/** The problem with one redirect rule (its FROM already parsed), or undefined. */
export function redirectRuleProblem(x: RedirectRule, p: PathPattern | { error: string }): string | undefined {
  if ('error' in p) return `redirect rule of line ${x.line}: ${p.error}`;
  if (!(RULE_STATUSES as readonly number[]).includes(x.status)) return `redirect rule of line ${x.line}: status ${x.status}`;
  if (x.host !== undefined && !HOST.test(x.host)) return `redirect rule of line ${x.line}: host ${JSON.stringify(x.host)}`;
  if (!/^[\x21-\x7e]+$/.test(x.to)) return `redirect rule of line ${x.line}: target ${JSON.stringify(x.to)}`;
  const bound = new Set([...p.names, ...(p.splat ? ['splat'] : [])]);
  for (const q of x.query) {
    if (q.value.startsWith(':')) {
      if (!PLACEHOLDER_NAME.test(q.value.slice(1))) return `redirect rule of line ${x.line}: query condition ${q.key}=${q.value}`;
      bound.add(q.value.slice(1));
    }
  }
  for (const name of targetPlaceholders(x.to)) if (!bound.has(name)) return `redirect rule of line ${x.line}: :${name} is not bound`;
  if (x.status === 200 && !x.to.startsWith('/')) return `redirect rule of line ${x.line}: a rewrite to ${x.to}`;
  return undefined;
}

/** `parsed`: the patterns already parsed (by compileRules), in the order of the rules, so they are not parsed twice. */
export function rulesProblem(r: SiteRules, parsed?: { redirects: readonly PathPattern[]; headers: readonly PathPattern[] }): string | undefined {
  if (r.redirects.length > RULE_LIMITS.redirects) return `${r.redirects.length} redirect rules (at most ${RULE_LIMITS.redirects})`;
  if (r.headers.length > RULE_LIMITS.headerBlocks) return `${r.headers.length} header blocks (at most ${RULE_LIMITS.headerBlocks})`;
  if (typeof r.options.cleanUrls !== 'boolean' || !TRAILING_SLASH_POLICIES.includes(r.options.trailingSlash)) return 'malformed build options';
  for (let i = 0; i < r.redirects.length; i++) {
    const x = r.redirects[i]!;
    const problem = redirectRuleProblem(x, parsed?.redirects[i] ?? parsePathPattern(x.from));
    if (problem !== undefined) return problem;
  }
  for (let i = 0; i < r.headers.length; i++) {
    const h = r.headers[i]!;
    const p = parsed?.headers[i] ?? parsePathPattern(h.pattern);
    if ('error' in p) return `header block of line ${h.line}: ${p.error}`;
    if (h.host !== undefined && !HOST.test(h.host)) return `header block of line ${h.line}: host ${JSON.stringify(h.host)}`;
    for (const op of h.ops) {
      if (!TOKEN.test(op.name) || (SERVER_OWNED_FIELDS as readonly string[]).includes(op.name.toLowerCase())) return `header line ${op.line}: field ${JSON.stringify(op.name)}`;
      if (op.op === 'set' && !FIELD_VALUE.test(op.value)) return `header line ${op.line}: value of ${op.name}`;
    }
  }
  return undefined;
}
