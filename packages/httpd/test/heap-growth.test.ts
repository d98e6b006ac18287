import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowthBound } from '../src/cluster/heap-growth.js';

// A worker bounds V8's heap growth once it loads a site larger than its entry cache (issue 15:
// RSS after a random rotation over a million files), unless node's own arguments chose one.
describe('heapGrowthBound', () => {
  const run = (execArgv: string[], sites: number[]) => {
    const flags: string[] = [];
    const bound = heapGrowthBound(execArgv, 16_384, (f) => flags.push(f));
    return { set: sites.map((n) => bound(n)), flags };
  };

  it.each([
    { execArgv: [], sites: [10, 16_384], set: [false, false], flags: [] },
    { execArgv: [], sites: [10, 16_385, 1_000_000], set: [false, true, false], flags: [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`] },
    { execArgv: ['--max-old-space-size=512', '--enable-source-maps'], sites: [200_000], set: [true], flags: ['--heap-growing-percent=30'] },
    { execArgv: ['--heap-growing-percent=0'], sites: [1_000_000], set: [false], flags: [] },
    { execArgv: ['--cpu-prof', '--heap_growing_percent=50'], sites: [1_000_000], set: [false], flags: [] },
  ])('node arguments $execArgv, sites of $sites entries: set $set', ({ execArgv, sites, set, flags }) => {
    expect(run(execArgv, sites)).toEqual({ set, flags });
  });
});
