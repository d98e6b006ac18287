import { normaliseHost } from '../http/host.js';
import type { SiteLookup } from '../http/resolve.js';
import type { RequestInfo } from '../http/response.js';
import { parseTarget } from '../http/target.js';
import type { PageCacheHints } from '@webroot/format';
import type { IoMode } from './executors.js';
import { pageCacheHints } from './page-cache.js';

/**
 * Whether this process has loaded a site with more entries than an entry cache holds (set by vhosts/, with
 * the heap-growth bound, for the rest of the process): until then no request needs to ask prefetchLookup,
 * and none does (a small site's request pays one test of this flag).
 */
export let largeSiteLoaded = false;

export function noteLargeSite(): void {
  largeSiteLoaded = true;
}

/**
 * Before a request is resolved: the index page its lookup will read, read
 * ahead on the thread pool (Webroot.prefetch, FORMAT.md section 1.3) when it is
 * not in memory, so that a site too large for its page cache does not wait for
 * the disk on the event loop once per request for a path not cached; several
 * such reads are in flight at once. In `async` mode every such page is read
 * ahead unless `pages` (io/page-cache.ts) says it is cached; in `sync` and
 * `stream` only a page `pages` says is not cached (without it they
 * look up synchronously, as they always did); with `pages`, a page not in
 * memory also asks the whole entry lookup table into the page cache (at most
 * once per 5 s per file, backing off: Webroot.prefetch); where the kernel cannot
 * say for the file, only `async` reads ahead (`readsAheadUnknown`), as without
 * `pages`. undefined when nothing needs
 * reading (the entry is cached, the page is in memory, the file has no entry
 * lookup table or no more entries than the entry cache holds, the request
 * names no site path, or names it in absolute form). Only the path as requested
 * is read ahead: what the site's rules make of it (index.html, a rewrite) is
 * looked up synchronously, as in every mode. A hint: resolving is unchanged.
 */
export function prefetchLookup(req: RequestInfo, sites: SiteLookup, pages: PageCacheHints | undefined, readsAheadUnknown: boolean): Promise<void> | undefined {
  // Cheapest tests first: on a small site (every entry fits the entry cache) this is all a request pays.
  if ((req.method !== 'GET' && req.method !== 'HEAD') || req.target.charCodeAt(0) !== 0x2f) return undefined; // origin-form only
  const host = normaliseHost(req.authority ?? '');
  if (host === undefined) return undefined;
  const site = sites.lookup(host);
  if (site === undefined || site.kind === 'unavailable' || !site.webroot.readsAhead) return undefined;
  const target = parseTarget(req.target);
  if (target.kind !== 'path' || sites.mount?.(host, target.path) !== undefined) return undefined;
  try {
    return site.webroot.prefetch(target.path, pages, readsAheadUnknown);
  } catch {
    return undefined; // a webroot closed by a swap a moment ago: the request resolves as usual
  }
}

/**
 * prefetchLookup as a connection or stream in IO mode `mode` asks it (HTTP/1.1 and HTTP/2 alike): nothing
 * until a large site is loaded, nothing in `sync` and `stream` without this process's page-cache hints.
 */
export function readAheadLookup(req: RequestInfo, sites: SiteLookup, mode: IoMode): Promise<void> | undefined {
  if (!largeSiteLoaded || (pageCacheHints === undefined && mode !== 'async')) return undefined;
  return prefetchLookup(req, sites, pageCacheHints, mode === 'async');
}
