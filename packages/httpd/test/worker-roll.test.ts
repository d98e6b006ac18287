import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HttpdConfig } from '../src/config.js';
import { effectiveRouteLimits, finishRoutes, routesFromFile } from '../src/config/route-keys.js';
import { needsWorkerRoll, routeChanges, WorkerRoll, type RollHost } from '../src/cluster/worker-roll.js';
import type { Logger } from '../src/log.js';
import type { RouteSpec } from '../src/routes/route-spec.js';

const cfg = (o: Partial<HttpdConfig> = {}): HttpdConfig => ({ vhostsDir: '/v', io: 'sync', port: 0, host: '127.0.0.1', workers: 2, cacheBytes: 0, cacheControl: 'no-cache', autoindex: false, logLevel: 'info', rescanIntervalMs: 1000, watch: true, headerTimeoutMs: 1, keepAliveTimeoutMs: 1, sendTimeoutMs: 1, drainTimeoutMs: 1, ...o });
const route = (o: Partial<RouteSpec> = {}): RouteSpec => ({ host: undefined, prefix: '/api', module: '/m/api.mjs', moduleSha256: 'aa', ...o });

describe('needsWorkerRoll and routeChanges: which reloads replace the workers', () => {
  it.each<[string, HttpdConfig, HttpdConfig, boolean, ReturnType<typeof routeChanges>]>([
    ['nothing about routes changed (Cache-Control did)', cfg({ routes: [route()] }), cfg({ routes: [route()], cacheControl: 'max-age=1' }), false, { added: [], removed: [], changed: [] }],
    ['no routes before or after (absent vs empty)', cfg(), cfg({ routes: [] }), false, { added: [], removed: [], changed: [] }],
    ['a route added', cfg(), cfg({ routes: [route()] }), true, { added: ['/api'], removed: [], changed: [] }],
    ['a route removed', cfg({ routes: [route(), route({ prefix: '/b' })] }), cfg({ routes: [route()] }), true, { added: [], removed: ['/b'], changed: [] }],
    ["the module's content changed (its digest)", cfg({ routes: [route()] }), cfg({ routes: [route({ moduleSha256: 'bb' })] }), true, { added: [], removed: [], changed: ['/api'] }],
    ['another module file', cfg({ routes: [route()] }), cfg({ routes: [route({ module: '/m/other.mjs' })] }), true, { added: [], removed: [], changed: ['/api'] }],
    ["a route's own limit", cfg({ routes: [route()] }), cfg({ routes: [route({ bodyLimit: 10 })] }), true, { added: [], removed: [], changed: ['/api'] }],
    ['a server-wide route limit', cfg({ routes: [route()] }), cfg({ routes: [route()], routeTimeoutMs: 5 }), true, { added: [], removed: [], changed: [] }],
    ['the same prefix for a host instead of every host', cfg({ routes: [route()] }), cfg({ routes: [route({ host: 'example.com' })] }), true, { added: ['example.com/api'], removed: ['/api'], changed: [] }],
  ])('%s', (_name, a, b, roll, changes) => {
    expect(needsWorkerRoll(a, b)).toBe(roll);
    expect(routeChanges(a, b)).toEqual(changes);
  });
});

describe('routesFromFile, finishRoutes, effectiveRouteLimits', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'route-keys-'));
  fs.writeFileSync(path.join(dir, 'api.mjs'), 'export default () => new Response("a");\n');

  it('resolves module paths against the file directory, normalises host and prefix, keeps each route its limits', () => {
    const problems: string[] = [];
    const routes = routesFromFile([{ host: 'Example.COM.', prefix: '/api/', module: 'api.mjs', body_limit: 10, timeout: 2000 }, { prefix: '/b', module: './api.mjs' }], dir, (k, m) => problems.push(`${k.join('.')}: ${m}`));
    expect(problems).toEqual([]);
    expect(routes).toEqual([
      { host: 'example.com', prefix: '/api', module: path.join(dir, 'api.mjs'), bodyLimit: 10, timeoutMs: 2000 },
      { host: undefined, prefix: '/b', module: path.join(dir, 'api.mjs') },
    ]);
  });

  it.each([
    ['a missing module', { prefix: '/a', module: 'nope.mjs' }, /^route\.0\.module: .*nope\.mjs: no such file/],
    ['a directory as module', { prefix: '/a', module: '.', }, /^route\.0\.module: '\.' is not an ES module file/],
    ['a prefix with %', { prefix: '/a%2f', module: 'api.mjs' }, /^route\.0\.prefix: '\/a%2f' is not a path prefix/],
    ['a host with a space', { host: 'a b', prefix: '/a', module: 'api.mjs' }, /^route\.0\.host: 'a b' is not a host name/],
  ])('reports %s with its key', (_name, entry, pattern) => {
    const problems: string[] = [];
    routesFromFile([entry], dir, (k, m) => problems.push(`${k.join('.')}: ${m}`));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('finishRoutes takes each module digest now, and drops a route limit the command line gives', () => {
    const file = path.join(dir, 'api.mjs');
    const [a] = finishRoutes([route({ module: file, bodyLimit: 5, timeoutMs: 7 })], { routeBodyLimit: 99 })!;
    expect(a!.moduleSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a!.bodyLimit).toBeUndefined();
    expect(a!.timeoutMs).toBe(7);
    fs.writeFileSync(file, 'export default () => new Response("b");\n');
    expect(finishRoutes([a!], {})![0]!.moduleSha256).not.toBe(a!.moduleSha256);
    expect(effectiveRouteLimits(route({ timeoutMs: 7 }), { routeBodyLimit: 99 })).toEqual({ bodyLimit: 99, bodyTimeoutMs: 30_000, timeoutMs: 7 });
  });
});

/** A fake primary: records what the roll asks for. */
function fakeHost(serving: number[]) {
  const calls: string[] = [];
  let next = 100;
  const host: RollHost = {
    spawn: () => {
      calls.push(`spawn ${next}`);
      return next++;
    },
    retire: (id) => calls.push(`retire ${id}`),
    stop: (id) => calls.push(`stop ${id}`),
    serving: () => serving,
    commit: () => calls.push('commit'),
    reject: (_prev, problems) => calls.push(`reject ${problems.join()}`),
  };
  const lines: [string, Record<string, unknown>][] = [];
  const log = { level: 'debug', log: (_l: string, event: string, fields: Record<string, unknown>) => lines.push([event, fields]) } as unknown as Logger;
  return { host, calls, lines, log };
}

describe('WorkerRoll: a new worker is ready before each old one drains', () => {
  it('replaces the workers one by one and ends when the last old one has exited', () => {
    const f = fakeHost([1, 2]);
    const roll = new WorkerRoll(f.host, f.log, 1000);
    roll.start(cfg({ routes: [route()] }), cfg());
    expect(f.calls).toEqual(['spawn 100']);
    expect(roll.onListening(1)).toBe(false); // not the roll's
    expect(roll.onListening(100)).toBe(true);
    expect(f.calls).toEqual(['spawn 100', 'commit', 'retire 1', 'spawn 101']);
    roll.onExit(1, 0, null);
    expect(roll.active).toBe(true);
    roll.onListening(101);
    expect(f.calls.slice(4)).toEqual(['retire 2']);
    expect(roll.active).toBe(true);
    roll.onExit(2, 0, null);
    expect(roll.active).toBe(false);
    expect(f.lines.map(([e]) => e)).toEqual(['workers-rolling', 'workers-rolled']);
  });

  it.each([
    ['a route error', (r: WorkerRoll) => expect(r.onRouteError(100, 'route /api: cannot load x: SyntaxError')).toBe(true), 'route /api: cannot load x: SyntaxError'],
    ['an exit before it listens', (r: WorkerRoll) => expect(r.onExit(100, 1, null)).toBe(true), 'the new worker exited (code 1, signal null) before it was ready'],
  ])('a trial worker that fails (%s) is stopped, the reload rejected, no old worker touched', (_name, fail, problem) => {
    const f = fakeHost([1, 2]);
    const roll = new WorkerRoll(f.host, f.log, 1000);
    roll.start(cfg({ routes: [route()] }), cfg());
    fail(roll);
    expect(f.calls).toEqual(['spawn 100', 'stop 100', `reject ${problem}`]);
    expect(f.lines.find(([e]) => e === 'config-rejected')![1]).toMatchObject({ problems: [problem], keeping: 'the running configuration and workers' });
    expect(roll.active).toBe(false);
  });

  it('cancel() (the service stops) ends a roll without retiring anything more or rejecting', () => {
    const f = fakeHost([1, 2]);
    const roll = new WorkerRoll(f.host, f.log, 1000);
    roll.start(cfg({ routes: [route()] }), cfg());
    roll.cancel();
    expect(roll.active).toBe(false);
    expect(roll.onListening(100)).toBe(false);
    expect(f.calls).toEqual(['spawn 100']);
  });

  it('a reload during a roll rolls next, from the configuration then running', () => {
    const f = fakeHost([1]);
    const roll = new WorkerRoll(f.host, f.log, 1000);
    roll.start(cfg({ routes: [route()] }), cfg());
    roll.start(cfg({ routes: [route({ moduleSha256: 'cc' })] }), cfg({ routes: [route()] }));
    expect(f.calls).toEqual(['spawn 100']);
    roll.onListening(100);
    roll.onExit(1, 0, null);
    expect(f.calls).toEqual(['spawn 100', 'commit', 'retire 1', 'spawn 101']);
    expect(roll.active).toBe(true);
  });
});
