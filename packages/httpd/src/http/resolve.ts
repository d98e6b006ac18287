/**
 * resolve: a request -> the Resource it names (host, method, path; then the
 * site's index). Pure except for reading immutable webroot indexes.
 */
import { encodePath, evaluateRules } from '@webroot/format';
import type { Site, UnavailableSite } from '../vhosts/site.js';
import { normaliseHost } from './host.js';
import type { Field, RequestInfo, Resource } from './response.js';
import { parseTarget } from './target.js';
import type { MountMatch } from '../vhosts/mounts.js';

export interface ResolveConfig {
  /** HTML listings for directories without index.html. */
  autoindex: boolean;
}

export interface SiteLookup {
  /** The site for a normalised host (or `__default__`'s), an entry that exists but cannot be served, or nothing. */
  lookup(host: string): Site | UnavailableSite | undefined;
  /** The mount ([[mount]] in the configuration) a normalised path of `host` falls in, if any (vhosts/mounts.ts). */
  mount?(host: string, path: string): MountMatch | undefined;
}

/** Seconds a client is asked to wait before retrying a host whose entry cannot be loaded (RFC 9110 section 10.2.3). */
export const RETRY_AFTER_SECONDS = 5;
const RETRY_AFTER: readonly Field[] = [['Retry-After', String(RETRY_AFTER_SECONDS)]];

/** A normalised site path as a URI path (RFC 3986 section 3.3): one implementation, shared with the rules evaluator. */
export { encodePath };

function isSite(found: Site | UnavailableSite): found is Site {
  return (found as UnavailableSite).kind !== 'unavailable';
}

/** Decides what a request names. Errors that end the connection (bad Host, bad target) carry `close`. */
export function resolveRequest(req: RequestInfo, sites: SiteLookup, config: ResolveConfig): Resource {
  const target = parseTarget(req.target);
  const authority = target.kind === 'path' ? target.authority : undefined;
  // Host (RFC 9112 section 3.2): an HTTP/1.1-or-later request carries exactly one valid Host, whatever the
  // method; an absolute-form target's authority wins over it.
  if (req.hostCount > 1 || (req.minor >= 1 && req.authority === undefined && authority === undefined)) return { kind: 'error', status: 400, close: true };
  const host = normaliseHost(authority ?? req.authority ?? '');
  if (host === undefined) return { kind: 'error', status: 400, close: true };

  const method = req.method;
  if (target.kind === 'bad' && method !== 'CONNECT') return { kind: 'error', status: 400, close: true };
  if (method === 'OPTIONS') return { kind: 'options' };
  // Every other method, CONNECT (authority-form target) included, is not allowed here (RFC 9110 section 15.5.6).
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'error', status: 405 };
  if (target.kind !== 'path') return { kind: 'error', status: 400, close: true }; // asterisk-form is for OPTIONS only

  const mount = sites.mount?.(host, target.path);
  // The prefix without its slash names the mount's root directory, as /dir names /dir/ (nginx's location /docs/ does the same).
  if (mount?.kind === 'add-slash') return { kind: 'redirect', status: 301, location: `${encodePath(mount.prefix)}${target.query}` };
  const found = mount !== undefined ? mount.site : sites.lookup(host);
  if (found === undefined) return { kind: 'not-found' };
  // An entry that exists but cannot be loaded is never answered with another site's content.
  if (!isSite(found)) return { kind: 'error', status: 503, extra: RETRY_AFTER };
  // Inside a mount the webroot sees the path below the prefix; what goes back to the client is the full path.
  if (mount !== undefined) return resolvePath(found, host, mount.path, target.query, config, mount.prefix);
  return resolvePath(found, host, target.path, target.query, config);
}

/**
 * A normalised path in a site: the site's rules (`_redirects`, clean URLs,
 * trailing-slash policy, nearest 404.html; evaluateRules in @webroot/format,
 * the same code `mkroot test-rules` runs), then the index. The `_headers`
 * fields of the requested path go into `extra` of whatever it resolves to.
 * `mountPrefix` ('/docs/') is what the client's path has in front of the
 * site's path: site-relative Locations and listing titles get it back.
 */
export function resolvePath(site: Site, host: string, path: string, query: string, config: ResolveConfig, mountPrefix = '/'): Resource {
  const autoindex = site.settings?.autoindex ?? config.autoindex;
  // On a site with redirect rules, a redirect is a function of these alone (the host only when a rule or a
  // header block is domain-level): the query goes into Location as sent, the mount prefix in front of it.
  // Sites without rules skip the memo: their redirects (/dir -> /dir/) cost no rule evaluation anyway.
  const memoKey =
    site.rules.redirectCount === 0 ? undefined : `${autoindex ? 1 : 0}${mountPrefix}\n${site.rules.hostRedirects || site.rules.hostHeaders ? host : ''}\n${path}\n${query}`;
  const known = memoKey === undefined ? undefined : site.redirects.get(memoKey);
  if (known !== undefined) return known;
  const { decision, fields } = evaluateRules(site.rules, { host, path, query }, site.index, {
    autoindex,
    headerFields: site.headerFields,
  });
  // Each resource is built with its `extra` in place, not spread into a copy: V8 clones spread literals on a slow path.
  const extra = fields.length === 0 ? undefined : fields;
  const shown = (p: string) => (mountPrefix === '/' || !p.startsWith('/') ? p : encodePath(mountPrefix) + p.slice(1));
  switch (decision.kind) {
    case 'file': {
      const entry = site.webroot.lookup(decision.path);
      if (entry?.kind !== 'file') return notFound(site, '/404.html', extra);
      return { kind: 'file', site, entry, status: decision.status, extra };
    }
    case 'redirect': {
      // Locations are built from the normalised path (or a rule's target), never from the raw target;
      // the query is kept as sent: parseTarget admits visible ASCII only, so it cannot split a header.
      const redirect: Resource = { kind: 'redirect', status: decision.status, location: shown(decision.location), site, extra, memoised: memoKey !== undefined };
      if (memoKey !== undefined) site.redirects.set(memoKey, redirect);
      return redirect;
    }
    case 'listing':
      return { kind: 'listing', site, dir: decision.dir, shownPath: mountPrefix === '/' ? path : mountPrefix + path.slice(1), entries: site.children(decision.dir), extra };
    case 'not-found':
      if (decision.status !== 404) return { kind: 'error', status: decision.status, extra };
      return notFound(site, decision.page, extra);
  }
}

/** A 404 with the page at `pagePath` as its body when that is a file (the nearest 404.html), else the plain body. */
function notFound(site: Site, pagePath: string | undefined, extra: readonly Field[] | undefined): Resource {
  const page = pagePath === undefined ? undefined : site.webroot.lookup(pagePath);
  return page?.kind === 'file' ? { kind: 'not-found', site, page, extra } : { kind: 'not-found', site, extra };
}
