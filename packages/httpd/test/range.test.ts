import { describe, expect, it } from 'vitest';
import { MAX_RANGES, parseRange } from '../src/http/range.js';

describe('parseRange (RFC 9110 section 14)', () => {
  const L = 1000;
  it.each([
    ['bytes=0-99', [[0, 99]]],
    ['bytes=100-', [[100, 999]]],
    ['bytes=-100', [[900, 999]]],
    ['bytes=-5000', [[0, 999]]], // suffix longer than the representation: all of it
    ['bytes=990-5000', [[990, 999]]], // last-pos past the end is clipped
    ['BYTES=0-0', [[0, 0]]], // range unit is case-insensitive (14.1)
    ['bytes=0-9,500-509', [[0, 9], [500, 509]]],
    ['bytes=500-509,0-9', [[0, 9], [500, 509]]], // sorted
    ['bytes=0-499,100-199', [[0, 499]]], // overlapping: coalesced (14.2), never amplified
    ['bytes=0-9,12-19', [[0, 19]]], // a small gap costs less than another part
    ['bytes=0-9,5000-6000', [[0, 9]]], // unsatisfiable members are dropped
    ['bytes=0-9,,20-29', [[0, 29]]], // empty list elements are allowed (5.6.1)
  ])('%s', (header, ranges) => {
    expect(parseRange(header, L)).toEqual({ kind: 'ranges', ranges: (ranges as number[][]).map(([start, end]) => ({ start, end })) });
  });

  it('bytes=0-9, 20-29 with spaces around the comma', () => {
    expect(parseRange('bytes=0-9 , 200-209', L)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 9 }, { start: 200, end: 209 }] });
  });

  it.each([
    ['bytes=1000-', L], // first-pos at or past the end (14.1.1)
    ['bytes=5000-6000', L],
    ['bytes=-0', L], // zero-length suffix
    ['bytes=0-', 0], // nothing to satisfy in an empty representation
    ['bytes=-1', 0],
  ])('%s on %i bytes is unsatisfiable (416)', (header, length) => {
    expect(parseRange(header, length)).toEqual({ kind: 'unsatisfiable' });
  });

  it.each([
    ['items=0-9', 'not-bytes'],
    ['bytes', 'invalid'],
    ['bytes=', 'invalid'],
    ['bytes=abc', 'invalid'],
    ['bytes=9-0', 'invalid'], // last-pos < first-pos makes the whole header invalid
    ['bytes=-', 'invalid'],
    ['bytes=1-2-3', 'invalid'],
    ['bytes=0x10-20', 'invalid'],
    [`bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`, 'too-many'],
  ])('%s is ignored (%s): the full 200 is sent', (header, reason) => {
    expect(parseRange(header, L)).toEqual({ kind: 'ignore', reason });
  });

  it('many overlapping ranges can never add up to more than the representation', () => {
    const header = `bytes=${Array.from({ length: MAX_RANGES }, () => '0-999').join(',')}`;
    expect(parseRange(header, L)).toEqual({ kind: 'ranges', ranges: [{ start: 0, end: 999 }] });
  });
});
