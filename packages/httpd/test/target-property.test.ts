import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../src/http/target.js';

// Property tests of request-target normalisation (RFC 3986 sections 2.1 and 5.2.4,
// RFC 9112 section 3.2) against an oracle: the WHATWG URL parser's resolution, which
// removes dot segments (".", "..", "%2e", ".%2E", ...) as RFC 3986 section 5.2.4 does.
// parseTarget also merges empty segments and decodes the path, so the oracle is:
// merge slashes, resolve with `new URL()`, decode each segment. Backslash is left out
// of literal characters (URL reads it as "/" in http URLs; for us it is a plain
// character) and "/" out of segment contents (an encoded slash separates for us,
// not for URL: a separate property below).
const RUNS = Number(process.env.WEBROOT_PROPERTY_RUNS ?? 2000);

/** Characters a segment may hold once decoded: no "/", no controls (those are refused, another property). */
const segmentChar = fc.oneof(
  fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@ "<>[]^`{|}%?#\\'.split('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !/[\x00-\x1f\x7f/]/.test(c)),
);
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.array(segmentChar, { minLength: 0, maxLength: 6 }).map((cs) => cs.join('')) },
  { weight: 3, arbitrary: fc.constantFrom('.', '..', '') },
);

/** Encodes one decoded segment as a client might: each character literal where allowed, else (or at random) %-encoded, hex in either case. */
function encodeSegment(seg: string, choices: boolean[], upper: boolean): string {
  let out = '';
  let i = 0;
  for (const ch of seg) {
    const literalOk = /^[\x21-\x7e]$/.test(ch) && !'%?#\\/'.includes(ch);
    const encode = !literalOk || (choices[i++ % choices.length] ?? false);
    if (!encode) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${upper ? b.toString(16).toUpperCase().padStart(2, '0') : b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const encodedPath = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean())
  .map(([segs, choices, upper]) => `/${segs.map((s) => encodeSegment(s, choices, upper)).join('/')}`);

const query = fc.oneof(fc.constant(''), fc.stringMatching(/^\?[\x21-\x22\x24-\x7e]{0,12}$/));

/** The oracle: merge slashes, resolve dot segments with URL, decode each segment. */
function oracle(rawPath: string): { climbs: boolean; path: string } {
  const merged = rawPath.replace(/\/{2,}/g, '/');
  // A sentinel first segment shows whether ".." went above the root (URL clamps there; we refuse).
  const sentinel = new URL(`/__root__${merged}`, 'http://h').pathname;
  const climbs = sentinel !== '/__root__' && !sentinel.startsWith('/__root__/');
  const resolved = new URL(merged, 'http://h').pathname;
  return { climbs, path: resolved.split('/').map(decodeURIComponent).join('/') };
}

describe('parseTarget against new URL() resolution (RFC 3986 section 5.2.4)', () => {
  it('a path that stays inside the site normalises as URL resolves it; one that climbs is refused', () => {
    fc.assert(
      fc.property(encodedPath, query, (rawPath, q) => {
        const got = parseTarget(rawPath + q);
        const want = oracle(rawPath);
        if (want.climbs) {
          expect(got).toEqual({ kind: 'bad', reason: 'path climbs above the root' });
        } else {
          expect(got).toEqual({ kind: 'path', path: want.path, rawPath, query: q });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('the result never climbs, never holds "." or ".." segments, empty segments, NUL or controls', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[\x21-\x7e]{0,40}$/), (target) => {
        const got = parseTarget(target);
        if (got.kind !== 'path') return;
        expect(got.path.startsWith('/')).toBe(true);
        const segs = got.path.split('/').slice(1, got.path.endsWith('/') ? -1 : undefined);
        for (const s of segs) expect(['', '.', '..']).not.toContain(s);
        expect(/[\x00-\x1f\x7f]/.test(got.path)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('an encoded slash separates exactly like a slash (it can name nothing a slash cannot)', () => {
    fc.assert(
      fc.property(encodedPath, encodedPath, fc.constantFrom('%2f', '%2F'), (a, b, slash) => {
        expect(parseTarget(`${a}${slash}${b.slice(1)}`)).toMatchObject(stripRaw(parseTarget(`${a}/${b.slice(1)}`)));
      }),
      { numRuns: RUNS },
    );
  });

  it('a decoded control character anywhere is refused', () => {
    fc.assert(
      fc.property(encodedPath, fc.integer({ min: 0, max: 0x1f }).chain((c) => fc.constantFrom(c, 0x7f)), (p, c) => {
        const got = parseTarget(`${p}%${c.toString(16).padStart(2, '0')}`);
        expect(got).toEqual({ kind: 'bad', reason: 'control character in path' });
      }),
      { numRuns: RUNS },
    );
  });
});

function stripRaw(o: ReturnType<typeof parseTarget>) {
  if (o.kind !== 'path') return o;
  const { rawPath: _raw, ...rest } = o;
  return rest;
}
