/**
 * Path patterns of `_redirects` and `_headers` (Netlify's syntax): literal
 * segments, `:name` placeholders (one segment each) and a trailing `*` splat.
 * A pattern and a request path match with or without a trailing slash.
 */

export type PatternSegment = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'placeholder'; readonly name: string };

export interface PathPattern {
  readonly segments: readonly PatternSegment[];
  /** Ends in `*`: matches the segments before it and anything below (or nothing). */
  readonly splat: boolean;
  /** Placeholder names, in order. */
  readonly names: readonly string[];
}

export const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Decodes %XX escapes to UTF-8 text; undefined when they are malformed. */
export function decodePercent(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Parses a pattern; returns a reason (for the caller's message) when it is not one. */
export function parsePathPattern(text: string): PathPattern | { error: string } {
  if (!text.startsWith('/')) return { error: `a path must start with '/' (got ${JSON.stringify(text)})` };
  if (text.includes('?') || text.includes('#')) return { error: 'a path pattern cannot contain ? or # (write query conditions as key=:name after the path)' };
  const raw = text.split('/').slice(1);
  if (raw[raw.length - 1] === '') raw.pop(); // a trailing slash does not matter
  const segments: PatternSegment[] = [];
  const names: string[] = [];
  let splat = false;
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i]!;
    if (seg === '') return { error: `empty segment (//) in ${JSON.stringify(text)}` };
    if (seg === '*') {
      if (i !== raw.length - 1) return { error: `'*' may only be the last segment (as in /blog/*), not inside ${JSON.stringify(text)}` };
      splat = true;
      continue;
    }
    if (seg.includes('*')) return { error: `'*' must be a whole segment, the last one (as in /blog/*): ${JSON.stringify(text)}` };
    if (seg === '.' || seg === '..') return { error: `'.' and '..' segments never match a request path: ${JSON.stringify(text)}` };
    if (seg.startsWith(':')) {
      const name = seg.slice(1);
      if (!PLACEHOLDER_NAME.test(name)) return { error: `placeholder ${JSON.stringify(seg)} is not a name (write :name with letters, digits, _)` };
      if (name === 'splat') return { error: "':splat' is the name of what '*' matches; give the placeholder another name" };
      if (names.includes(name)) return { error: `placeholder :${name} appears twice` };
      names.push(name);
      segments.push({ kind: 'placeholder', name });
      continue;
    }
    const decoded = decodePercent(seg);
    if (decoded === undefined) return { error: `bad percent-encoding in ${JSON.stringify(seg)}` };
    segments.push({ kind: 'literal', text: decoded });
  }
  return { segments, splat, names };
}

/** A request path ('/a/b', '/a/b/', '/') as segments, trailing slash dropped. */
export function pathSegments(path: string): string[] {
  if (path === '/' || path === '') return [];
  const end = path.endsWith('/') ? path.length - 1 : path.length;
  return path.slice(1, end).split('/');
}

/** Bindings of a match: placeholder names to values, and `splat`. Undefined when it does not match. */
export function matchPattern(p: PathPattern, segs: readonly string[]): Map<string, string> | undefined {
  const n = p.segments.length;
  if (p.splat ? segs.length < n : segs.length !== n) return undefined;
  let bound: Map<string, string> | undefined;
  for (let i = 0; i < n; i++) {
    const ps = p.segments[i]!;
    const s = segs[i]!;
    if (ps.kind === 'literal') {
      if (ps.text !== s) return undefined;
    } else {
      (bound ??= new Map()).set(ps.name, s);
    }
  }
  bound ??= new Map();
  if (p.splat) bound.set('splat', segs.slice(n).join('/'));
  return bound;
}

/** The exact path a pattern without placeholders or splat matches ('/' or '/a/b'). */
export function exactKey(p: PathPattern): string | undefined {
  if (p.splat || p.names.length > 0) return undefined;
  return `/${p.segments.map((s) => (s as { text: string }).text).join('/')}`;
}

/** Placeholders used in a rule target: `:name` and `:splat`. */
export function targetPlaceholders(to: string): string[] {
  return [...to.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}
