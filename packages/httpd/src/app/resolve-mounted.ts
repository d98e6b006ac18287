/**
 * resolve for the middleware: a request to an app -> a Resource of one
 * webroot mounted below a path, or "not ours" (the app's next handler). Pure,
 * like resolve.ts, whose path lookup it reuses; the Host is not consulted (an
 * app serves one webroot whatever the host).
 */
import { encodePath, resolvePath, type ResolveConfig } from '../http/resolve.js';
import type { RequestInfo, Resource } from '../http/response.js';
import { normaliseHost } from '../http/host.js';
import { parseTarget, removeDotSegments } from '../http/target.js';
import type { Site } from '../vhosts/site.js';

export type MountedOutcome =
  /** Serve this resource. */
  | { kind: 'serve'; resource: Resource }
  /** The path is below the mount but the webroot does not have it: the app's next handler, or the site's 404. */
  | { kind: 'missing'; resource: Resource }
  /** Not below the mount, or not a path (`*`, a bad target): the app's next handler. */
  | { kind: 'pass' };

/**
 * `mount`: the normalised path the webroot's root appears at within the
 * request's target ('/' or '/static', no trailing slash), also the start of
 * every Location of a redirect into the site.
 */
export function resolveMounted(req: RequestInfo, site: Site, mount: string, config: ResolveConfig): MountedOutcome {
  const target = parseTarget(req.target);
  if (target.kind !== 'path') return { kind: 'pass' };
  let path = target.path;
  if (mount !== '/') {
    if (path === mount) path = '';
    else if (path.startsWith(`${mount}/`)) path = path.slice(mount.length);
    else return { kind: 'pass' };
  }
  const here = mount === '/' ? '' : encodePath(mount);
  // The mount point itself without its slash is the site's root directory: /static -> /static/ (query kept).
  const resource: Resource =
    path === ''
      ? { kind: 'redirect', status: 301, location: `${here}/${target.query}`, site }
      : // Site-relative Locations and listing titles come back below the mount (resolvePath's mountPrefix).
        resolvePath(site, normaliseHost(target.authority ?? req.authority ?? '') ?? '', path, target.query, config, mount === '/' ? '/' : `${mount}/`);
  if (resource.kind === 'not-found') return { kind: 'missing', resource };
  // RFC 9110 section 15.5.6: a method the resource does not support is 405 with Allow; OPTIONS says what is (9.3.7).
  if (req.method === 'OPTIONS') return { kind: 'serve', resource: { kind: 'options' } };
  if (req.method !== 'GET' && req.method !== 'HEAD') return { kind: 'serve', resource: { kind: 'error', status: 405 } };
  return { kind: 'serve', resource };
}

/**
 * The normalised, encoded form of a mount path given by a user or a framework
 * ('/static/', 'static', '/a/../b' -> '/b'); undefined when it is not a plain
 * absolute path. '/' stays '/'.
 */
export function normaliseMount(value: string): string | undefined {
  const withSlash = value.startsWith('/') ? value : `/${value}`;
  if (/[?#\s]/.test(withSlash)) return undefined;
  const path = removeDotSegments(withSlash);
  if (path === undefined) return undefined;
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
