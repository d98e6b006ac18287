import { describe, expect, it } from 'vitest';
import { negotiateEncoding } from '../src/http/negotiate.js';

describe('negotiateEncoding (RFC 9110 section 12.5.3)', () => {
  const both = ['br', 'gzip'] as const;
  it.each([
    [undefined, both, 'identity'],
    ['', both, 'identity'],
    ['gzip, deflate, br', both, 'br'],
    ['gzip', both, 'gzip'],
    ['x-gzip', both, 'gzip'], // 8.4.1.3
    ['GZIP', both, 'gzip'],
    ['br;q=0, gzip', both, 'gzip'],
    ['br;q=0.5, gzip;q=0.8', both, 'gzip'],
    ['br;q=1.0, gzip;q=1', both, 'br'], // tie: the smaller output
    ['gzip;q=0.5, identity;q=0.9', both, 'identity'],
    ['*', both, 'br'],
    ['*;q=0.1, gzip;q=0.5', both, 'gzip'],
    ['br', ['gzip'] as const, 'identity'],
    ['deflate', both, 'identity'],
    ['identity;q=0, gzip', both, 'gzip'],
    ['identity;q=0', both, 'none'], // nothing acceptable: 406
    ['*;q=0', both, 'none'],
    ['*;q=0, identity', both, 'identity'],
    ['br;q=2, gzip;q=0.5', both, 'gzip'], // an invalid qvalue counts as 0
    ['br;q=0.001', both, 'br'], // any listed q > 0 outranks unlisted identity
    ['br;q=0.001, identity;q=0.5', both, 'identity'],
  ])('%j with %j -> %s', (header, available, expected) => {
    expect(negotiateEncoding(header, available)).toBe(expected);
  });
});
