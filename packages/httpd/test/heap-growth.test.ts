import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from '../src/cluster/heap-growth.js';

// A worker bounds V8's heap growth (issue 15: RSS after a random rotation over a million files),
// unless the operator set the flag already, in node's arguments or NODE_OPTIONS.
describe('boundHeapGrowth', () => {
  it.each([
    { execArgv: [], nodeOptions: '', sets: true },
    { execArgv: ['--max-old-space-size=512'], nodeOptions: '--enable-source-maps', sets: true },
    { execArgv: ['--heap-growing-percent=50'], nodeOptions: '', sets: false },
    { execArgv: ['--heap_growing_percent=50'], nodeOptions: '', sets: false },
    { execArgv: [], nodeOptions: '--max-semi-space-size=8 --heap-growing-percent=0', sets: false },
  ])('execArgv $execArgv, NODE_OPTIONS "$nodeOptions": sets it = $sets', ({ execArgv, nodeOptions, sets }) => {
    expect(boundHeapGrowth(execArgv, nodeOptions)).toBe(sets);
  });
});
