/**
 * What a site's rules decide for one request, before any byte is read: the
 * step of the request pipeline between normalising the target and reading a
 * file. Pure: the same rules, index and request give the same decision. Used
 * by httpd for every request and by `mkroot test-rules`, so both say the same.
 *
 * Order (Netlify's, https://docs.netlify.com/routing/redirects/ "Rule processing
 * order" and https://docs.netlify.com/routing/redirects/rewrites-proxies/#shadowing):
 * `_redirects` rules in file order, the first match wins; a rule without `!` does
 * not apply when the path resolves to a file (or a directory index) of the site.
 * Then the static lookup: the file, the directory index, clean URLs, the
 * trailing-slash policy; then the nearest `404.html` (Cloudflare Pages,
 * https://developers.cloudflare.com/pages/configuration/serving-pages/ "Not Found behavior").
 */
import type { CompiledRules } from './matcher.js';
import { decodePercent, matchPattern, pathSegments } from './pattern.js';
import type { BuildOptions, RedirectRule } from './types.js';

export interface RuleRequest {
  /** Normalised host (lower case, no port): matched by domain-level rules. */
  readonly host: string;
  /** Decoded, normalised site path ('/', '/a/b', '/a/'): never the raw target. */
  readonly path: string;
  /** '' or the query as sent, with its '?'; visible ASCII only (the target parser checked it). */
  readonly query: string;
}

/** The part of a webroot's index that rules need: what kind of entry a path is. */
export interface SiteIndex {
  kindOf(path: string): 'file' | 'directory' | undefined;
}

export type Field = readonly [name: string, value: string];

export type RuleDecision =
  /** Serve the file at `path` with `status` (a rewrite, an index, a clean URL, or a 404/410/451 rule's body). */
  | { kind: 'file'; path: string; status: 200 | 404 | 410 | 451; how: 'static' | 'index' | 'clean-url' | 'rewrite' | 'rule-body'; rule?: RedirectRule }
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string; how: 'rule' | 'trailing-slash' | 'clean-url'; rule?: RedirectRule }
  | { kind: 'listing'; dir: string }
  /** Nothing to serve: `page` is the nearest 404.html (404 only), else the plain error body. */
  | { kind: 'not-found'; status: 404 | 410 | 451; page?: string; rule?: RedirectRule };

export interface Evaluation {
  readonly decision: RuleDecision;
  /** Fields from `_headers` for the requested path, in order, names as first written. */
  readonly fields: readonly Field[];
}

const NO_FIELDS: readonly Field[] = Object.freeze([]);

/** A path segment for a URL: percent-encoded except the sub-delimiters RFC 3986 section 3.3 allows in a pchar. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/%(?:3A|40|24|26|2B|2C|3B|3D)/g, decodeURIComponent);
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeSegment).join('/');
}

type Static =
  | { kind: 'file'; path: string; how: 'static' | 'index' | 'clean-url' }
  | { kind: 'redirect'; status: 301 | 308; location: string; how: 'trailing-slash' | 'clean-url'; exists: boolean }
  | { kind: 'listing'; dir: string }
  | { kind: 'none' };

const indexOf = (dir: string) => (dir === '/' ? '/index.html' : `${dir}/index.html`);

/** The canonical URL path of a directory under the policy. */
function directoryUrl(dir: string, o: BuildOptions): string {
  if (dir === '/') return '/';
  return o.trailingSlash === 'never' ? encodePath(dir) : `${encodePath(dir)}/`;
}

/** Looks a path up as a static server does, with the build options; no rules. */
export function resolveStatic(ix: SiteIndex, path: string, query: string, o: BuildOptions, autoindex: boolean): Static {
  const slash = path.length > 1 && path.endsWith('/');
  const bare = slash ? path.slice(0, -1) : path;
  const kind = ix.kindOf(bare);
  if (kind === 'directory') {
    const hasIndex = ix.kindOf(indexOf(bare)) === 'file';
    if (bare !== '/') {
      // 'always' is the historical /dir -> /dir/ redirect (301, kept for existing links).
      if (!slash && o.trailingSlash === 'always') return { kind: 'redirect', status: 301, location: `${encodePath(bare)}/${query}`, how: 'trailing-slash', exists: hasIndex };
      if (slash && o.trailingSlash === 'never') return { kind: 'redirect', status: 308, location: `${encodePath(bare)}${query}`, how: 'trailing-slash', exists: hasIndex };
    }
    if (hasIndex) return { kind: 'file', path: indexOf(bare), how: 'index' };
    return autoindex ? { kind: 'listing', dir: bare } : { kind: 'none' };
  }
  if (kind === 'file') {
    if (o.cleanUrls && bare.endsWith('.html')) {
      // /x/index.html -> /x/ (per policy); /about.html -> /about, unless /about names something else.
      if (bare.endsWith('/index.html')) {
        const dir = bare.slice(0, -'/index.html'.length) || '/';
        return { kind: 'redirect', status: 308, location: `${directoryUrl(dir, o)}${query}`, how: 'clean-url', exists: true };
      }
      const clean = bare.slice(0, -'.html'.length);
      if (clean !== '' && ix.kindOf(clean) === undefined) return { kind: 'redirect', status: 308, location: `${encodePath(clean)}${query}`, how: 'clean-url', exists: true };
    }
    if (slash) {
      // A file has no trailing slash: 'always' keeps today's 404, 'never' redirects, 'ignore' serves it.
      if (o.trailingSlash === 'never') return { kind: 'redirect', status: 308, location: `${encodePath(bare)}${query}`, how: 'trailing-slash', exists: true };
      if (o.trailingSlash === 'always') return { kind: 'none' };
    }
    return { kind: 'file', path: bare, how: 'static' };
  }
  if (o.cleanUrls && bare !== '/' && ix.kindOf(`${bare}.html`) === 'file') {
    if (slash && o.trailingSlash !== 'ignore') return { kind: 'redirect', status: 308, location: `${encodePath(bare)}${query}`, how: 'trailing-slash', exists: true };
    return { kind: 'file', path: `${bare}.html`, how: 'clean-url' };
  }
  return { kind: 'none' };
}

/** Whether a static result shadows non-forced rules: the path names a file or a directory index. */
function shadows(s: Static): boolean {
  return s.kind === 'file' || (s.kind === 'redirect' && s.exists);
}

/** The nearest 404.html: in the request's directory, then each parent, ending with /404.html. */
export function nearestNotFoundPage(ix: SiteIndex, path: string): string | undefined {
  let dir = path.endsWith('/') ? path.slice(0, -1) : path.slice(0, path.lastIndexOf('/'));
  for (;;) {
    const page = `${dir}/404.html`;
    if (ix.kindOf(page) === 'file') return page;
    if (dir === '') return undefined;
    dir = dir.slice(0, dir.lastIndexOf('/'));
  }
}

/** Substitutes `:name` and `:splat` into a rule target; values percent-encoded. */
function substitute(to: string, bound: ReadonlyMap<string, string>): string {
  if (!to.includes(':')) return to;
  return to.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    const v = bound.get(name);
    if (v === undefined) return whole; // e.g. the scheme's colon; unbound names are refused at pack time
    return name === 'splat' ? encodePath(v) : encodeSegment(v);
  });
}

/** The decoded site path a rewrite or error body names, or undefined when it cannot name one. */
function targetPath(to: string, bound: ReadonlyMap<string, string>): string | undefined {
  let p = substitute(to, bound);
  const cut = p.search(/[?#]/);
  if (cut !== -1) p = p.slice(0, cut);
  const decoded = decodePercent(p);
  if (decoded === undefined || !decoded.startsWith('/') || /[\x00-\x1f\x7f]/.test(decoded)) return undefined;
  if (decoded.split('/').some((s) => s === '.' || s === '..')) return undefined;
  return decoded.replace(/\/{2,}/g, '/');
}

/** What a rewrite target serves: the file, the directory's index, or a clean URL's file. */
function servable(ix: SiteIndex, path: string, o: BuildOptions): string | undefined {
  const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const kind = ix.kindOf(bare);
  if (kind === 'file') return bare;
  if (kind === 'directory') return ix.kindOf(indexOf(bare)) === 'file' ? indexOf(bare) : undefined;
  if (o.cleanUrls && ix.kindOf(`${bare}.html`) === 'file') return `${bare}.html`;
  return undefined;
}

/** Checks a rule's query conditions (Netlify "Query parameters"), binding `key=:name` values. */
function queryHolds(rule: RedirectRule, params: URLSearchParams, bound: Map<string, string>): boolean {
  for (const c of rule.query) {
    const v = params.get(c.key);
    if (v === null) return false;
    if (c.value.startsWith(':')) bound.set(c.value.slice(1), v);
    else if (v !== c.value) return false;
  }
  return true;
}

function applyRule(rule: RedirectRule, bound: Map<string, string>, req: RuleRequest, ix: SiteIndex, o: BuildOptions): RuleDecision {
  const s = rule.status;
  if (s === 301 || s === 302 || s === 303 || s === 307 || s === 308) {
    let location = substitute(rule.to, bound);
    // The request's query goes along, unless the rule matched on it or names its own.
    if (rule.query.length === 0 && !rule.to.includes('?') && req.query !== '') location += req.query;
    return { kind: 'redirect', status: s, location, how: 'rule', rule };
  }
  const target = targetPath(rule.to, bound);
  const file = target === undefined ? undefined : servable(ix, target, o);
  if (s === 200) {
    if (file !== undefined) return { kind: 'file', path: file, status: 200, how: 'rewrite', rule };
    const page = nearestNotFoundPage(ix, req.path);
    return page === undefined ? { kind: 'not-found', status: 404, rule } : { kind: 'not-found', status: 404, page, rule };
  }
  if (file !== undefined) return { kind: 'file', path: file, status: s, how: 'rule-body', rule };
  return { kind: 'not-found', status: s, rule };
}

function fromStatic(st: Static, ix: SiteIndex, path: string): RuleDecision {
  switch (st.kind) {
    case 'file':
      return { kind: 'file', path: st.path, status: 200, how: st.how };
    case 'redirect':
      return { kind: 'redirect', status: st.status, location: st.location, how: st.how };
    case 'listing':
      return st;
    case 'none': {
      const page = nearestNotFoundPage(ix, path);
      return page === undefined ? { kind: 'not-found', status: 404 } : { kind: 'not-found', status: 404, page };
    }
  }
}

/**
 * A `_headers` value with the `:name` and `:splat` its block's pattern bound
 * substituted (Cloudflare Pages, https://developers.cloudflare.com/pages/configuration/headers/
 * "Placeholders" and "Splats": "the matched value can be used in the header
 * values"). A value is URI-encoded as in a Location (a segment for `:name`, a
 * path for `:splat`), so whatever the request path held, the field stays
 * visible ASCII (RFC 9110 section 5.5) and cannot split a header; Cloudflare
 * substitutes the path as the URL parser left it, which is the same encoding
 * for the paths browsers send. A `:word` the pattern does not bind is text
 * (`a:b`, `https://...`), as on Cloudflare. Leading and trailing whitespace
 * left by an empty value is trimmed (RFC 9110 section 5.5: it is not part of
 * the field value).
 */
export function substituteFieldValue(value: string, bound: ReadonlyMap<string, string>): string {
  if (bound.size === 0 || !value.includes(':')) return value;
  return substitute(value, bound).trim();
}

/**
 * `_headers` fields for a path: every matching block in file order; a repeated
 * name joins its values with ", " (RFC 9110 section 5.3), except Set-Cookie,
 * which cannot be joined; `! Name` removes what earlier blocks set. Values get
 * the block's placeholders (substituteFieldValue).
 */
export function headerFields(c: CompiledRules, host: string, segs: readonly string[]): readonly Field[] {
  const list = c.headerCandidates(host, segs);
  if (list.length === 0) return NO_FIELDS;
  const out: [string, string][] = [];
  for (const h of list) {
    const bound = matchPattern(h.pattern, segs);
    if (bound === undefined) continue;
    for (const op of h.block.ops) {
      const lower = op.name.toLowerCase();
      if (op.op === 'remove') {
        for (let j = out.length - 1; j >= 0; j--) if (out[j]![0].toLowerCase() === lower) out.splice(j, 1);
        continue;
      }
      const value = substituteFieldValue(op.value, bound);
      const at = lower === 'set-cookie' ? -1 : out.findIndex((f) => f[0].toLowerCase() === lower);
      if (at === -1) out.push([op.name, value]);
      else out[at] = [out[at]![0], `${out[at]![1]}, ${value}`];
    }
  }
  return out.length === 0 ? NO_FIELDS : out;
}

export interface EvaluateOptions {
  /** Listings for directories without index.html (httpd --autoindex). */
  readonly autoindex: boolean;
  /** headerFields for (host, path), e.g. memoized by the caller; by default computed here. */
  readonly headerFields?: (host: string, path: string) => readonly Field[];
}

/** Decides one request: rules, then the static lookup, then the nearest 404; and the `_headers` fields of the path. */
export function evaluateRules(c: CompiledRules, req: RuleRequest, ix: SiteIndex, options: EvaluateOptions): Evaluation {
  const o = c.options;
  // Segments only when a rule needs them: a path no redirect rule can match (memoized) and memoized header
  // fields need no split.
  let split: readonly string[] | undefined;
  const segsOf = () => (split ??= pathSegments(req.path));
  const fields =
    c.headerCount === 0 ? NO_FIELDS : options.headerFields !== undefined ? options.headerFields(req.host, req.path) : headerFields(c, req.host, segsOf());
  let st: Static | undefined;
  const statically = () => (st ??= resolveStatic(ix, req.path, req.query, o, options.autoindex));
  if (c.redirectCount > 0) {
    let params: URLSearchParams | undefined;
    for (const candidate of c.redirectCandidatesOf(req.host, req.path, segsOf)) {
      const segs = segsOf();
      const bound = matchPattern(candidate.pattern, segs);
      if (bound === undefined) continue;
      const rule = candidate.rule;
      if (rule.query.length > 0 && !queryHolds(rule, (params ??= new URLSearchParams(req.query.slice(1))), bound)) continue;
      if (!rule.force && shadows(statically())) continue;
      return { decision: applyRule(rule, bound, req, ix, o), fields };
    }
  }
  return { decision: fromStatic(statically(), ix, req.path), fields };
}
