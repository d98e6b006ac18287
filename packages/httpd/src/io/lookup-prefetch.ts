import { normaliseHost } from '../http/host.js';
import type { SiteLookup } from '../http/resolve.js';
import type { RequestInfo } from '../http/response.js';
import { parseTarget } from '../http/target.js';

/**
 * In `async` IO mode, before a request is resolved: the index page its lookup
 * will read, read ahead on the thread pool (Webroot.prefetch, FORMAT.md section
 * 1.3), so that a site too large for its page cache does not wait for the disk
 * on the event loop once per request for a path not cached; several such
 * reads are in flight at once, as the body reads of this mode are. undefined
 * when nothing needs reading (the entry is cached, the file has no entry
 * lookup table or no more entries than the entry cache holds, the request
 * names no site path, or names it in absolute form). Only the path as requested
 * is read ahead: what the site's rules make of it (index.html, a rewrite) is
 * looked up synchronously, as in every mode. A hint: resolving is unchanged.
 */
export function prefetchLookup(req: RequestInfo, sites: SiteLookup): Promise<void> | undefined {
  // Cheapest tests first: on a small site (every entry fits the entry cache) this is all a request pays.
  if ((req.method !== 'GET' && req.method !== 'HEAD') || req.target.charCodeAt(0) !== 0x2f) return undefined; // origin-form only
  const host = normaliseHost(req.authority ?? '');
  if (host === undefined) return undefined;
  const site = sites.lookup(host);
  if (site === undefined || site.kind === 'unavailable' || !site.webroot.readsAhead) return undefined;
  const target = parseTarget(req.target);
  if (target.kind !== 'path' || sites.mount?.(host, target.path) !== undefined) return undefined;
  try {
    return site.webroot.prefetch(target.path);
  } catch {
    return undefined; // a webroot closed by a swap a moment ago: the request resolves as usual
  }
}
