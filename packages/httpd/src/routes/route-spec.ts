/**
 * A dynamic route as configured: `[HOST]/PREFIX=MODULE` (the --route flag; a
 * configuration file's route key gives the same three parts to
 * `routeSpecOf`). Pure: the module path is resolved against `cwd` but not
 * read here.
 */
import path from 'node:path';
import { normaliseHost } from '../http/host.js';
import { normaliseMount } from '../app/resolve-mounted.js';

export interface RouteSpec {
  /** Normalised host the route is for; undefined: every host. */
  host: string | undefined;
  /** Normalised path prefix, '/' or '/api' (no trailing slash). */
  prefix: string;
  /** Absolute path of the ES module whose default export handles the requests. */
  module: string;
  /** This route's own limits ([[route]] keys in the configuration file); the server-wide settings when absent. */
  bodyLimit?: number;
  bodyTimeoutMs?: number;
  timeoutMs?: number;
  /** sha256 of the module file when the configuration was read: a reload that sees another digest replaces the workers. */
  moduleSha256?: string;
}

export type RouteSpecOutcome = { kind: 'ok'; spec: RouteSpec } | { kind: 'error'; message: string };

const FORM = "write it as [HOST]/PREFIX=MODULE.mjs, e.g. /api=./api.mjs or example.com/search=/srv/search.mjs";

/** The route of one `--route` value. */
export function parseRouteSpec(value: string, cwd: string): RouteSpecOutcome {
  const eq = value.indexOf('=');
  if (eq === -1) return { kind: 'error', message: `'${value}' has no '=MODULE'; ${FORM}` };
  const where = value.slice(0, eq);
  const slash = where.indexOf('/');
  if (slash === -1) return { kind: 'error', message: `'${value}' has no path prefix (a '/' before '='); ${FORM}` };
  return routeSpecOf(where.slice(0, slash), where.slice(slash), value.slice(eq + 1), cwd);
}

/** A route from its three parts: host ('' or '*' for every host), path prefix, module path. */
export function routeSpecOf(hostValue: string, prefixValue: string, moduleValue: string, cwd: string): RouteSpecOutcome {
  let host: string | undefined;
  if (hostValue !== '' && hostValue !== '*') {
    host = normaliseHost(hostValue);
    if (host === undefined || host === '') return { kind: 'error', message: `'${hostValue}' is not a host name; ${FORM}` };
  }
  const prefix = prefixValue.includes('%') ? undefined : normaliseMount(prefixValue);
  if (prefix === undefined || !prefixValue.startsWith('/')) {
    return { kind: 'error', message: `'${prefixValue}' is not a path prefix (an absolute path without '..', '%', '?' or spaces); ${FORM}` };
  }
  if (moduleValue.trim() === '') return { kind: 'error', message: `the route for '${prefixValue}' names no module; ${FORM}` };
  if (!/\.(mjs|js)$/.test(moduleValue)) return { kind: 'error', message: `'${moduleValue}' is not an ES module file (.mjs or .js); ${FORM}` };
  return { kind: 'ok', spec: { host, prefix, module: path.resolve(cwd, moduleValue) } };
}

/** Whether normalised `path` is `prefix` or below it (segment-wise: /api matches /api and /api/x, not /apix). */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/**
 * The route for a request: the longest prefix among the routes of its host
 * and those for every host; at equal length a host's own route wins. Index
 * into `specs`, or -1.
 */
export function chooseRoute(specs: readonly RouteSpec[], host: string | undefined, path: string): number {
  let best = -1;
  let bestLength = -1;
  let bestHost = false;
  specs.forEach((s, i) => {
    if (s.host !== undefined && s.host !== host) return;
    if (!underPrefix(path, s.prefix)) return;
    const length = s.prefix === '/' ? 0 : s.prefix.length;
    const own = s.host !== undefined;
    if (length > bestLength || (length === bestLength && own && !bestHost)) {
      best = i;
      bestLength = length;
      bestHost = own;
    }
  });
  return best;
}
