import { describe, expect, it } from 'vitest';
import { evaluatePreconditions } from '../src/http/preconditions.js';
import { parseEtagList, strongMatch, weakMatch } from '../src/http/etag-list.js';
import { formatHttpDate, parseHttpDate } from '../src/http/dates.js';

const ETAG = '"abc"';
const LM = 1_700_000_000;
const v = { etag: ETAG, lastModified: LM };
const before = formatHttpDate(LM - 10);
const at = formatHttpDate(LM);
const after = formatHttpDate(LM + 10);

describe('evaluatePreconditions in RFC 9110 section 13.2.2 order', () => {
  it.each([
    // [method, headers, outcome]
    ['GET', {}, 'proceed'],
    // 13.1.1 If-Match: strong comparison
    ['GET', { ifMatch: ETAG }, 'proceed'],
    ['GET', { ifMatch: '"x", "abc"' }, 'proceed'],
    ['GET', { ifMatch: '*' }, 'proceed'],
    ['GET', { ifMatch: '"x"' }, 'failed'],
    ['GET', { ifMatch: 'W/"abc"' }, 'failed'], // weak tags never match strongly
    ['GET', { ifMatch: 'garbage' }, 'failed'],
    // 13.1.4 If-Unmodified-Since, only without If-Match; invalid date ignored
    ['GET', { ifUnmodifiedSince: before }, 'failed'],
    ['GET', { ifUnmodifiedSince: at }, 'proceed'],
    ['GET', { ifUnmodifiedSince: after }, 'proceed'],
    ['GET', { ifUnmodifiedSince: 'not a date' }, 'proceed'],
    ['GET', { ifMatch: ETAG, ifUnmodifiedSince: before }, 'proceed'], // If-Match present: IUS not evaluated
    // 13.1.2 If-None-Match: weak comparison; 304 for GET/HEAD
    ['GET', { ifNoneMatch: ETAG }, 'not-modified'],
    ['HEAD', { ifNoneMatch: ETAG }, 'not-modified'],
    ['GET', { ifNoneMatch: 'W/"abc"' }, 'not-modified'],
    ['GET', { ifNoneMatch: '"x", W/"abc"' }, 'not-modified'],
    ['GET', { ifNoneMatch: '*' }, 'not-modified'],
    ['GET', { ifNoneMatch: '"x"' }, 'proceed'],
    ['DELETE', { ifNoneMatch: ETAG }, 'failed'],
    // 13.1.3 If-Modified-Since only without If-None-Match, only GET/HEAD
    ['GET', { ifModifiedSince: at }, 'not-modified'],
    ['GET', { ifModifiedSince: after }, 'not-modified'],
    ['GET', { ifModifiedSince: before }, 'proceed'],
    ['GET', { ifModifiedSince: 'yesterday' }, 'proceed'],
    ['GET', { ifNoneMatch: '"x"', ifModifiedSince: after }, 'proceed'], // INM present: IMS ignored
    ['POST', { ifModifiedSince: after }, 'proceed'],
    // order: If-Match failure wins over If-None-Match
    ['GET', { ifMatch: '"x"', ifNoneMatch: ETAG }, 'failed'],
  ] as const)('%s %j -> %s', (method, headers, outcome) => {
    expect(evaluatePreconditions(method, headers, v).kind).toBe(outcome);
  });
});

describe('entity-tag lists (RFC 9110 section 8.8.3)', () => {
  it('parses lists with weak and strong members and skips junk', () => {
    expect(parseEtagList(' "a" , W/"b",junk, "c"')).toEqual({
      kind: 'list',
      tags: [
        { weak: false, opaque: '"a"' },
        { weak: true, opaque: '"b"' },
        { weak: false, opaque: '"c"' },
      ],
    });
  });
  it('strong vs weak comparison, per the table in section 8.8.3.2', () => {
    expect(strongMatch(parseEtagList('W/"1"'), '"1"')).toBe(false);
    expect(weakMatch(parseEtagList('W/"1"'), '"1"')).toBe(true);
    expect(strongMatch(parseEtagList('"1"'), '"1"')).toBe(true);
    expect(weakMatch(parseEtagList('"2"'), '"1"')).toBe(false);
  });
});

describe('HTTP-date (RFC 9110 section 5.6.7)', () => {
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', 784111777],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 784111777],
    ['Sun Nov  6 08:49:37 1994', 784111777],
  ])('%s', (s, t) => expect(parseHttpDate(s)).toBe(t));
  it.each(['', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 31 Feb 1994 08:49:37 GMT', '784111777', 'Sun, 06 Nov 1994 25:49:37 GMT'])('%j is not a date', (s) => {
    expect(parseHttpDate(s)).toBeUndefined();
  });
  it('formats IMF-fixdate', () => expect(formatHttpDate(784111777)).toBe('Sun, 06 Nov 1994 08:49:37 GMT'));
});
