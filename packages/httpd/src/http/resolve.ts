/**
 * resolve: a request -> the Resource it names (host, method, path; then the
 * site's index). Pure except for reading immutable webroot indexes.
 */
import type { Entry } from '@webroot/format';
import type { Site, UnavailableSite } from '../vhosts/site.js';
import { normaliseHost } from './host.js';
import type { Field, RequestInfo, Resource } from './response.js';
import { parseTarget } from './target.js';

export interface ResolveConfig {
  /** HTML listings for directories without index.html. */
  autoindex: boolean;
}

export interface SiteLookup {
  /** The site for a normalised host (or `__default__`'s), an entry that exists but cannot be served, or nothing. */
  lookup(host: string): Site | UnavailableSite | undefined;
}

/** Seconds a client is asked to wait before retrying a host whose entry cannot be loaded (RFC 9110 section 10.2.3). */
export const RETRY_AFTER_SECONDS = 5;
const RETRY_AFTER: readonly Field[] = [['Retry-After', String(RETRY_AFTER_SECONDS)]];

/** Bytes a path segment may carry unencoded in a Location (RFC 3986 section 3.3 pchar, less '%'). */
const PCHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;

/**
 * A normalised site path as a URI path: every byte outside pchar and '/'
 * percent-encoded. Never starts with '//' (removeDotSegments leaves no empty
 * segment), so a browser cannot read it as a network-path reference.
 */
export function encodePath(path: string): string {
  if (PCHAR.test(path)) return path;
  let out = '';
  for (const ch of path) {
    if (PCHAR.test(ch)) out += ch;
    else for (const b of Buffer.from(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

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

  const found = sites.lookup(host);
  if (found === undefined) return { kind: 'not-found' };
  // An entry that exists but cannot be loaded is never answered with another site's content.
  if (!isSite(found)) return { kind: 'error', status: 503, extra: RETRY_AFTER };
  return resolvePath(found, target.path, target.query, config);
}

/** Looks a normalised path up in a site: file, directory index, trailing-slash redirect, listing, or not found. */
export function resolvePath(site: Site, path: string, query: string, config: ResolveConfig): Resource {
  const webroot = site.webroot;
  if (path.endsWith('/')) {
    const dir = path === '/' ? '/' : path.slice(0, -1);
    if (webroot.lookup(dir)?.kind !== 'directory') return notFound(site);
    const index = webroot.lookup(dir === '/' ? '/index.html' : `${dir}/index.html`);
    if (index?.kind === 'file') return { kind: 'file', site, entry: index, status: 200 };
    if (config.autoindex) return { kind: 'listing', site, dir, shownPath: path, entries: site.children(dir) };
    return notFound(site);
  }
  const entry: Entry | undefined = webroot.lookup(path);
  if (entry === undefined) return notFound(site);
  // The Location is built from the normalised path, never from the raw target (an open redirect otherwise).
  // The query is kept as sent, as nginx does: parseTarget admits visible ASCII only, so it cannot split a header.
  if (entry.kind === 'directory') return { kind: 'redirect', status: 301, location: `${encodePath(path)}/${query}`, site };
  return { kind: 'file', site, entry, status: 200 };
}

function notFound(site: Site): Resource {
  const page = site.webroot.lookup('/404.html');
  return page?.kind === 'file' ? { kind: 'not-found', site, page } : { kind: 'not-found', site };
}
