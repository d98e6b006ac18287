export * from './constants.js';
export * from './errors.js';
export * from './reader/types.js';
export { Webroot, WARM_INTERVAL_MS, WARM_INTERVAL_MAX_MS, type PageCacheHints } from './reader/webroot.js';
export { DEFAULT_CACHE_ENTRIES, FULL_CHECK_ENTRIES, openWebroot, parseHeader, type OpenOptions } from './reader/open.js';
export { comparePaths } from './reader/path-order.js';
export { RangeReadStream, type RangeStreamOptions } from './reader/range-stream.js';
export { BoundedCache } from './reader/bounded-cache.js';
export * from './rules/index.js';
