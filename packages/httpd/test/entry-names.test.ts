import { describe, expect, it } from 'vitest';
import { groupEntryNames, hostKey } from '../src/vhosts/entry-names.js';

describe('groupEntryNames: one entry per host, names compared like Host values (issue 9 item 8)', () => {
  it.each([
    [[], {}, {}],
    [['example.test', '__default__'], { 'example.test': 'example.test', __default__: '__default__' }, {}],
    [['Example.TEST'], { 'example.test': 'Example.TEST' }, {}],
    [['example.test.'], { 'example.test': 'example.test.' }, {}],
    [['.tmp', '.deploy-1', 'a.test'], { 'a.test': 'a.test' }, {}],
    [['Example.test', 'example.test'], {}, { 'example.test': ['Example.test', 'example.test'] }],
    [['example.test', 'example.test.', 'b.test'], { 'b.test': 'b.test' }, { 'example.test': ['example.test', 'example.test.'] }],
    [['EXAMPLE.test', 'example.test', 'Example.Test.'], {}, { 'example.test': ['EXAMPLE.test', 'Example.Test.', 'example.test'] }],
    [['__DEFAULT__', '__default__'], {}, { __default__: ['__DEFAULT__', '__default__'] }],
  ] as [string[], Record<string, string>, Record<string, string[]>][])('%j', (names, single, ambiguous) => {
    const groups = groupEntryNames(names);
    expect(Object.fromEntries(groups.single)).toEqual(single);
    expect(Object.fromEntries(groups.ambiguous)).toEqual(ambiguous);
  });

  it('hostKey lower-cases and drops one trailing dot', () => {
    expect(hostKey('Example.COM.')).toBe('example.com');
    expect(hostKey('__default__')).toBe('__default__');
  });
});
