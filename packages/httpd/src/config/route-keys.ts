/**
 * The `[[route]]` entries of the configuration file (README "Dynamic routes"):
 * the same three parts as `--route [HOST]/PREFIX=MODULE`, checked by the same
 * `routeSpecOf`, plus each route's own limits. Module paths are relative to
 * the file's directory. Each module's sha256 is taken when the file is read,
 * so a reload (SIGHUP, an edit of the file) sees a changed module as a changed
 * route and replaces the workers (cluster/worker-roll.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ROUTE_DEFAULTS, type HttpdConfig } from '../config.js';
import { routeSpecOf, type RouteSpec } from '../routes/route-spec.js';
import type { FileConfig } from './schema.js';

type Problem = (key: (string | number)[], message: string) => void;

/** Why `file` cannot be a route's module, or undefined. */
export function routeModuleProblem(file: string): string | undefined {
  try {
    return fs.statSync(file).isFile() ? undefined : 'not a file; give the path of an ES module whose default export handles the requests';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file; give the path of an ES module whose default export handles the requests' : `cannot read (${code}); check its permissions`;
  }
}

/** The routes of the file's [[route]] entries; every problem goes to `problem` with its key. */
export function routesFromFile(entries: NonNullable<FileConfig['route']>, dir: string, problem: Problem): RouteSpec[] {
  const out: RouteSpec[] = [];
  const seen = new Map<string, number>();
  entries.forEach((r, i) => {
    const parsed = routeSpecOf(r.host ?? '', r.prefix, r.module, dir);
    if (parsed.kind === 'error') {
      // routeSpecOf's message ends with the flag's form; name the key instead.
      const message = parsed.message.replace(/; write it as .*$/, '');
      const key = /names no module|not an ES module/.test(message) ? 'module' : /not a host name/.test(message) ? 'host' : 'prefix';
      const hint = key === 'module' ? 'write module = "./api.mjs" (an ES module, relative to this file)' : key === 'host' ? 'write host = "example.com", or leave it out for every host' : 'write prefix = "/api/" (an absolute path, decoded, no "..")';
      problem(['route', i, key], `${message}; ${hint}`);
      return;
    }
    const spec: RouteSpec = {
      ...parsed.spec,
      ...(r.body_limit !== undefined ? { bodyLimit: r.body_limit } : {}),
      ...(r.body_timeout !== undefined ? { bodyTimeoutMs: r.body_timeout } : {}),
      ...(r.timeout !== undefined ? { timeoutMs: r.timeout } : {}),
    };
    const why = routeModuleProblem(spec.module);
    if (why) problem(['route', i, 'module'], `${spec.module}: ${why}`);
    // '/api/' and '/api' are one prefix (segment-wise matching): one route per (host, prefix).
    const name = `${spec.host ?? '*'} ${spec.prefix}`;
    const before = seen.get(name);
    if (before !== undefined) problem(['route', i], `the route for ${spec.host ?? 'every host'} at ${spec.prefix} is already defined by route[${before}]; each (host, prefix) may appear once`);
    else seen.set(name, i);
    out.push(spec);
  });
  return out;
}

/** sha256 of a module file, or undefined when it cannot be read (that problem is reported elsewhere). */
export function moduleDigest(file: string): string | undefined {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * The routes as they run: limits given on the command line win over each
 * route's own (the flags win over the file, as for every key), and each
 * module's digest as of now.
 */
export function finishRoutes(routes: readonly RouteSpec[] | undefined, overrides: Partial<HttpdConfig>): RouteSpec[] | undefined {
  if (routes === undefined) return undefined;
  return routes.map((r) => {
    const out: RouteSpec = { ...r };
    if (overrides.routeBodyLimit !== undefined) delete out.bodyLimit;
    if (overrides.routeBodyTimeoutMs !== undefined) delete out.bodyTimeoutMs;
    if (overrides.routeTimeoutMs !== undefined) delete out.timeoutMs;
    const digest = moduleDigest(r.module);
    if (digest !== undefined) out.moduleSha256 = digest;
    else delete out.moduleSha256;
    return out;
  });
}

/** The limits a route runs with: its own, else the server-wide settings, else the defaults. */
export function effectiveRouteLimits(r: RouteSpec, c: Pick<HttpdConfig, 'routeBodyLimit' | 'routeBodyTimeoutMs' | 'routeTimeoutMs'>): { bodyLimit: number; bodyTimeoutMs: number; timeoutMs: number } {
  return {
    bodyLimit: r.bodyLimit ?? c.routeBodyLimit ?? ROUTE_DEFAULTS.routeBodyLimit,
    bodyTimeoutMs: r.bodyTimeoutMs ?? c.routeBodyTimeoutMs ?? ROUTE_DEFAULTS.routeBodyTimeoutMs,
    timeoutMs: r.timeoutMs ?? c.routeTimeoutMs ?? ROUTE_DEFAULTS.routeTimeoutMs,
  };
}

/** The [[route]] entries and `watchdog` as `check-config` prints them (every limit filled in). */
export function effectiveRouteKeys(c: HttpdConfig): Record<string, unknown> {
  return {
    watchdog: (c.watchdogMs ?? ROUTE_DEFAULTS.watchdogMs) / 1000,
    route: (c.routes ?? []).map((r) => {
      const l = effectiveRouteLimits(r, c);
      return { host: r.host ?? '*', prefix: r.prefix, module: r.module, body_limit: l.bodyLimit, body_timeout: l.bodyTimeoutMs / 1000, timeout: l.timeoutMs / 1000 };
    }),
  };
}
