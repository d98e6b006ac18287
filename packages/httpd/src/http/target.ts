/**
 * Request-target normalisation (RFC 9112 section 3.2, RFC 3986 sections 2.1 and 5.2.4).
 * Produces a site path that can only name something inside the site: it is
 * looked up in the webroot index, never on the filesystem.
 */

export type TargetOutcome =
  | { kind: 'path'; path: string; rawPath: string; query: string; authority?: string }
  | { kind: 'asterisk' }
  | { kind: 'bad'; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const HEX = /^[0-9a-fA-F]{2}$/;

/** Percent-decodes to UTF-8 text; undefined for bad escapes or invalid (including overlong) UTF-8. */
export function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  try {
    return utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Removes dot segments and empty segments from a decoded absolute path.
 * Returns undefined when `..` would climb above the root.
 */
export function removeDotSegments(path: string): string | undefined {
  // Fast path: nothing to remove (the common case).
  if (!path.includes('/.') && !path.includes('//')) return path;
  const out: string[] = [];
  const segments = path.split('/');
  const trailing = segments.length > 1 && (segments[segments.length - 1] === '' || segments[segments.length - 1] === '.' || segments[segments.length - 1] === '..');
  for (const seg of segments) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const joined = `/${out.join('/')}`;
  return trailing && out.length > 0 ? `${joined}/` : joined;
}

function normalisePath(rawPath: string, query: string, authority?: string): TargetOutcome {
  const decoded = percentDecode(rawPath);
  if (decoded === undefined) return { kind: 'bad', reason: 'bad percent-encoding or invalid UTF-8 in path' };
  // NUL and other control characters never name a file.
  if (/[\x00-\x1f\x7f]/.test(decoded)) return { kind: 'bad', reason: 'control character in path' };
  const path = removeDotSegments(decoded);
  if (path === undefined) return { kind: 'bad', reason: 'path climbs above the root' };
  return authority === undefined ? { kind: 'path', path, rawPath, query } : { kind: 'path', path, rawPath, query, authority };
}

/** The last target parsed and its outcome (outcomes are never changed by their readers). */
let lastTarget: string | undefined;
let lastOutcome: TargetOutcome | undefined;

/**
 * Parses a request-target: origin-form, absolute-form (http/https) or asterisk-form. The last one is kept:
 * a popular URL comes many times in a row, and a request's target is parsed twice (the large-site read-ahead
 * looks at it before resolving does).
 */
export function parseTarget(target: string): TargetOutcome {
  if (target === lastTarget) return lastOutcome!;
  const outcome = parseTargetUncached(target);
  lastTarget = target;
  lastOutcome = outcome;
  return outcome;
}

function parseTargetUncached(target: string): TargetOutcome {
  // Only visible ASCII may appear in a request-target (RFC 3986 section 2; RFC 9112 section 3.2).
  if (!/^[\x21-\x7e]+$/.test(target) || target.includes('#')) return { kind: 'bad', reason: 'invalid character in request-target' };
  if (target === '*') return { kind: 'asterisk' };
  let rest = target;
  let authority: string | undefined;
  if (!target.startsWith('/')) {
    // absolute-form (RFC 9112 section 3.2.2): the authority replaces Host.
    const m = /^https?:\/\/([^/?]*)(.*)$/i.exec(target);
    if (!m) return { kind: 'bad', reason: 'request-target is not origin-form or absolute-form' };
    authority = m[1]!;
    rest = m[2] === '' ? '/' : m[2]!;
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  const rawPath = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q);
  return normalisePath(rawPath, query, authority);
}
