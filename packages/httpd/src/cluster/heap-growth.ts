import v8 from 'node:v8';

/**
 * V8's growth factor for the old generation after a full GC, in percent over the
 * live size (`--heap-growing-percent`; 0, the default, lets V8 choose up to 4x
 * for a fast-allocating process). A worker on a random rotation over a million
 * files allocates fast and keeps ~65 MB live (its entry, object and head caches),
 * so V8 let its heap reach ~165 MB before collecting: most of its RSS. With 30%,
 * the heap stays near 1.3x the live size; the 1 KB keep-alive A/B showed no cost
 * in CPU per request (bench/README, large sites). The factor is read at every GC,
 * so setting it at start-up applies to this process.
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Sets the worker's heap growth, unless the operator chose one in node's own
 * arguments (`node --heap-growing-percent=0 .../httpd.js`; workers inherit them;
 * node refuses this flag in NODE_OPTIONS).
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
