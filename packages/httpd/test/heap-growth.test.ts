import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from '../src/cluster/heap-growth.js';

// A worker bounds V8's heap growth (issue 15: RSS after a random rotation over a million files),
// unless the operator set the flag already in node's arguments (node refuses it in NODE_OPTIONS).
describe('boundHeapGrowth', () => {
  it.each([
    { execArgv: [], sets: true },
    { execArgv: ['--max-old-space-size=512', '--enable-source-maps'], sets: true },
    { execArgv: ['--heap-growing-percent=50'], sets: false },
    { execArgv: ['--cpu-prof', '--heap_growing_percent=0'], sets: false },
  ])('node arguments $execArgv: sets it = $sets', ({ execArgv, sets }) => {
    expect(boundHeapGrowth(execArgv)).toBe(sets);
  });
});
