/**
 * `mkroot rules`, `mkroot test-rules` and the rule part of `mkroot diff`:
 * what a webroot's compiled rules are and what they decide. test-rules runs
 * `evaluateRules`, the function httpd runs for every request.
 */
import { evaluateRules, type Field, type HeaderBlock, type RedirectRule, type RuleDecision, type SiteRules, type Webroot } from '@webroot/format';
import { MkrootError } from '../errors.js';

export interface ListedRules {
  options: SiteRules['options'];
  redirects: { line: number; source: string; host: string | null; from: string; query: string[]; to: string; status: number; force: boolean }[];
  headers: { line: number; host: string | null; pattern: string; fields: { line: number; name: string; value: string | null }[] }[];
}

export function listRules(w: Webroot): ListedRules {
  const r = w.rules;
  return {
    options: r.options,
    redirects: r.redirects.map((x) => ({ line: x.line, source: x.source, host: x.host ?? null, from: x.from, query: x.query.map((q) => `${q.key}=${q.value}`), to: x.to, status: x.status, force: x.force })),
    headers: r.headers.map((h) => ({ line: h.line, host: h.host ?? null, pattern: h.pattern, fields: h.ops.map((op) => ({ line: op.line, name: op.name, value: op.op === 'set' ? op.value : null })) })),
  };
}

export function formatRules(l: ListedRules): string {
  const out = [`build: clean-urls ${l.options.cleanUrls ? 'on' : 'off'}, trailing-slash ${l.options.trailingSlash}`];
  out.push(`_redirects: ${l.redirects.length} rule${l.redirects.length === 1 ? '' : 's'}`);
  for (const r of l.redirects) out.push(`  ${String(r.line).padStart(5)}  ${r.source}`);
  out.push(`_headers: ${l.headers.length} block${l.headers.length === 1 ? '' : 's'}`);
  for (const h of l.headers) {
    out.push(`  ${String(h.line).padStart(5)}  ${h.host ? `https://${h.host}` : ''}${h.pattern}`);
    for (const f of h.fields) out.push(`  ${String(f.line).padStart(5)}    ${f.value === null ? `! ${f.name}` : `${f.name}: ${f.value}`}`);
  }
  return `${out.join('\n')}\n`;
}

export interface RuleTest {
  url: string;
  status: number;
  location: string | null;
  /** What decided: `_redirects:LINE: source`, `file /path`, `listing /dir`, `not found`. */
  decidedBy: string;
  /** The file whose bytes are the body, if any. */
  file: string | null;
  fields: Field[];
}

/** A request URL for test-rules: `/path?q` or `http(s)://host/path?q`; the path is decoded and dot segments removed. */
function parseUrl(url: string): { host: string; path: string; query: string } {
  const m = /^(?:https?:\/\/([^/?#]*))?(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (!m || m[2] === undefined) throw new MkrootError('MKROOT_BAD_OPTION', `${url}: not a URL or a path; give /path?query or http://host/path`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(m[2]);
  } catch {
    throw new MkrootError('MKROOT_BAD_OPTION', `${url}: bad percent-encoding in the path`);
  }
  const out: string[] = [];
  const segs = decoded.split('/');
  for (const s of segs) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  const last = segs[segs.length - 1];
  const trailing = out.length > 0 && (last === '' || last === '.' || last === '..');
  return { host: (m[1] ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, ''), path: `/${out.join('/')}${trailing ? '/' : ''}`, query: m[3] ?? '' };
}

function ruleName(rule: RedirectRule): string {
  return `_redirects:${rule.line}: ${rule.source}`;
}

function describeDecision(d: RuleDecision): Omit<RuleTest, 'url' | 'fields'> {
  switch (d.kind) {
    case 'file':
      return { status: d.status, location: null, decidedBy: d.rule ? ruleName(d.rule) : `file ${d.path}${d.how === 'static' ? '' : ` (${d.how})`}`, file: d.path };
    case 'redirect':
      return { status: d.status, location: d.location, decidedBy: d.rule ? ruleName(d.rule) : `${d.how} policy`, file: null };
    case 'listing':
      return { status: 200, location: null, decidedBy: `listing ${d.dir}`, file: null };
    case 'not-found':
      return { status: d.status, location: null, decidedBy: d.rule ? ruleName(d.rule) : d.page ? `not found: nearest 404 page ${d.page}` : 'not found', file: d.page ?? null };
  }
}

export function testRules(w: Webroot, urls: readonly string[], options: { autoindex?: boolean } = {}): RuleTest[] {
  const compiled = w.compiledRules;
  const index = { kindOf: (p: string) => w.lookup(p)?.kind };
  return urls.map((url) => {
    const req = parseUrl(url);
    const { decision, fields } = evaluateRules(compiled, req, index, { autoindex: options.autoindex ?? false });
    return { url, ...describeDecision(decision), fields: [...fields] };
  });
}

export function formatRuleTests(tests: readonly RuleTest[]): string {
  return tests
    .map((t) => [`${t.url}`, `  ${t.status}${t.location ? ` -> ${t.location}` : ''}${t.file ? ` body ${t.file}` : ''}`, `  decided by ${t.decidedBy}`, ...t.fields.map(([n, v]) => `  ${n}: ${v}`)].join('\n'))
    .join('\n')
    .concat('\n');
}

export interface RulesDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

const redirectKey = (r: RedirectRule) => `${r.host ? `https://${r.host}` : ''}${r.from}${r.query.map((q) => ` ${q.key}=${q.value}`).join('')}`;
const redirectBody = (r: RedirectRule) => `${r.to} ${r.status}${r.force ? '!' : ''}`;
const blockKey = (h: HeaderBlock) => `${h.host ? `https://${h.host}` : ''}${h.pattern}`;
const blockBody = (h: HeaderBlock) => h.ops.map((op) => (op.op === 'set' ? `${op.name}: ${op.value}` : `! ${op.name}`)).join('; ');

/** Rules a deploy adds, removes or changes: redirects by FROM (and conditions), header blocks by pattern, the build options. */
export function diffRules(older: SiteRules, newer: SiteRules): RulesDiff {
  const d: RulesDiff = { added: [], removed: [], changed: [] };
  const compare = <T>(what: string, a: readonly T[], b: readonly T[], key: (x: T) => string, body: (x: T) => string) => {
    const keyed = (list: readonly T[]) => {
      const seen = new Map<string, number>();
      return new Map(list.map((x) => {
        const k = key(x);
        const n = (seen.get(k) ?? 0) + 1;
        seen.set(k, n);
        return [n === 1 ? k : `${k} (#${n})`, x] as const;
      }));
    };
    const ka = keyed(a);
    const kb = keyed(b);
    for (const [k, x] of ka) if (!kb.has(k)) d.removed.push(`${what} ${k} ${body(x)}`);
    for (const [k, x] of kb) {
      const before = ka.get(k);
      if (before === undefined) d.added.push(`${what} ${k} ${body(x)}`);
      else if (body(before) !== body(x)) d.changed.push(`${what} ${k}: ${body(before)} -> ${body(x)}`);
    }
  };
  compare('_redirects', older.redirects, newer.redirects, redirectKey, redirectBody);
  compare('_headers', older.headers, newer.headers, blockKey, blockBody);
  if (older.options.cleanUrls !== newer.options.cleanUrls) d.changed.push(`build clean-urls: ${older.options.cleanUrls ? 'on' : 'off'} -> ${newer.options.cleanUrls ? 'on' : 'off'}`);
  if (older.options.trailingSlash !== newer.options.trailingSlash) d.changed.push(`build trailing-slash: ${older.options.trailingSlash} -> ${newer.options.trailingSlash}`);
  return d;
}
