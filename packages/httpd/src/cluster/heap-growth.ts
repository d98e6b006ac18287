import v8 from 'node:v8';
import { DEFAULT_CACHE_ENTRIES } from '@webroot/format';
import { admitOnSecondMiss } from '../io/object-cache.js';
import { noteLargeSite } from '../io/lookup-prefetch.js';

/**
 * V8's growth factor for the old generation after a full GC, in percent over the
 * live size (`--heap-growing-percent`; 0, the default, lets V8 choose up to 4x
 * for a fast-allocating process). A worker on a random rotation over a million
 * files allocates fast and keeps ~65 MB live (its entry, object and head caches),
 * and V8 let its heap grow to ~2.5x that before collecting: worker RSS after the
 * 30 s soak 182-249 MB, against 132-167 MB with 30% (bench/README, large sites).
 * On a small site the bound cost CPU per request (more full GCs: 1 KB and the
 * 10,000-file rotation, loaded A/B), so it applies only once a site larger than
 * the entry cache is loaded. The factor is read at every GC, so setting it at run
 * time applies from then on.
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * A function to call with the entry count of every site loaded: it sets the
 * bound once, for the first site of more than `threshold` entries, unless the
 * operator chose a growth in node's own arguments (`node --heap-growing-percent=0
 * .../httpd.js`; workers inherit them; node refuses this flag in NODE_OPTIONS).
 * Returns whether this call set it.
 */
export function heapGrowthBound(
  execArgv: readonly string[] = process.execArgv,
  threshold = DEFAULT_CACHE_ENTRIES,
  setFlags: (flags: string) => void = v8.setFlagsFromString,
): (entries: number) => boolean {
  let done = execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  return (entries) => {
    if (done || entries <= threshold) return false;
    done = true;
    setFlags(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    return true;
  };
}

const boundHeap = heapGrowthBound();

/**
 * What a worker does for every site it loads: a site larger than the entry cache bounds the heap's growth
 * (heapGrowthBound), makes the object caches admit on the second miss (ObjectCache's admit) and lets
 * requests read their index pages ahead (io/lookup-prefetch.ts), all for the rest of the process.
 */
export function boundHeapGrowthFor(entries: number): boolean {
  if (entries > DEFAULT_CACHE_ENTRIES) {
    admitOnSecondMiss();
    noteLargeSite();
  }
  return boundHeap(entries);
}
