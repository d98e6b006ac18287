import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

// [[route]] in the configuration file (README "Dynamic routes", "Configuration file"), and what a reload does
// with routes: new workers with the new modules replace the old ones one by one (cluster/worker-roll.ts).

const httpd = (args: string[]) => runNode(HTTPD_BIN, args, { timeoutMs: 15_000 });

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

/** A module answering `name pid path`; `extra` is more of its body. */
const moduleText = (name: string) => `export default (request) => new Response(${JSON.stringify(name)} + ' ' + process.pid + ' ' + new URL(request.url).pathname);\n`;
const ECHO = `export default async (request) => new Response('got ' + (await request.arrayBuffer()).byteLength);\n`;

function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

const base = (extra: string, workers = 2) => `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = ${workers}\nlog_level = "info"\n\n[[listen]]\naddress = "127.0.0.1:0"\n${extra}`;

describe('[[route]] in the configuration file', () => {
  it('check-config prints every route with its limits filled in, module paths relative to the file', async () => {
    const dir = tmpDir('route-cfg-');
    fs.writeFileSync(path.join(dir, 'api.mjs'), moduleText('api'));
    fs.mkdirSync(path.join(dir, 'mods'));
    fs.writeFileSync(path.join(dir, 'mods/search.mjs'), moduleText('search'));
    const file = path.join(dir, 'httpd.toml');
    const text = base(`\n[[route]]\nprefix = "/api/"\nmodule = "./api.mjs"\nbody_limit = "64K"\n\n[[route]]\nhost = "Example.COM"\nprefix = "/search"\nmodule = "mods/search.mjs"\ntimeout = "1500ms"\n`);
    fs.writeFileSync(file, `watchdog = "4s"\n${text}`);
    const json = await httpd(['check-config', file, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const c = (JSON.parse(json.stdout) as { config: Record<string, unknown> }).config;
    expect(c.watchdog).toBe(4);
    expect(c.route).toEqual([
      { host: '*', prefix: '/api', module: path.join(dir, 'api.mjs'), body_limit: 65536, body_timeout: 30, timeout: 30 },
      { host: 'example.com', prefix: '/search', module: path.join(dir, 'mods/search.mjs'), body_limit: 1048576, body_timeout: 30, timeout: 1.5 },
    ]);
    const toml = await httpd(['check-config', file]);
    expect(toml.code).toBe(0);
    expect(toml.stdout).toContain(`[[route]]\nhost = "*"\nprefix = "/api"\nmodule = ${JSON.stringify(path.join(dir, 'api.mjs'))}\nbody_limit = 65536\n`);
  });

  // The table of bad [[route]] entries is in packages/httpd/test/route-keys.test.ts (loadConfigFile in-process); here, the CLI.
  it('check-config refuses a bad [[route]] with FILE:LINE:COL lines and exit 1, start-up with exit 2; no stack trace', async () => {
    const dir = tmpDir('route-bad-');
    fs.writeFileSync(path.join(dir, 'api.mjs'), moduleText('api'));
    const file = path.join(dir, 'bad.toml');
    fs.writeFileSync(file, base(`[[route]]\nprefix = "/api/"\nmodul = "./api.mjs"\n`));
    const r = await httpd(['check-config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toEqual([
      `httpd: ${file}:7:1: route[0].module: expected the path of an ES module (.mjs or .js), got nothing (the key is missing)`,
      `httpd: ${file}:9:1: route[0].modul: unknown key in route[0]; did you mean 'module'?`,
      `httpd: ${file}: 2 problems`,
    ]);
    const s = await httpd(['--config', file]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('not started');
    expect(s.stderr).not.toMatch(/\n\s+at /);
  });

  it('serves the routes of the file, each with its own limits; --route on the command line replaces them', async () => {
    const dir = tmpDir('route-serve-');
    fs.writeFileSync(path.join(dir, 'small.mjs'), ECHO);
    fs.writeFileSync(path.join(dir, 'big.mjs'), ECHO);
    fs.writeFileSync(path.join(dir, 'host.mjs'), moduleText('host'));
    fs.writeFileSync(path.join(dir, 'flag.mjs'), moduleText('flag'));
    const file = path.join(dir, 'httpd.toml');
    fs.writeFileSync(file, base(`\n[[route]]\nprefix = "/small/"\nmodule = "small.mjs"\nbody_limit = "1K"\n\n[[route]]\nprefix = "/big/"\nmodule = "big.mjs"\n\n[[route]]\nhost = "example.com"\nprefix = "/h/"\nmodule = "host.mjs"\n`, 1));
    const h = await startHttpdWith(['--config', file]);
    try {
      const body = 'x'.repeat(4096);
      const small = await fetch(h.url('/small/x'), { method: 'POST', body });
      expect(small.status).toBe(413); // RFC 9110 section 15.5.14, refused on the declared length
      await small.text();
      const big = await fetch(h.url('/big/x'), { method: 'POST', body });
      expect(big.status).toBe(200);
      expect(await big.text()).toBe('got 4096');
      expect((await raw(h.port, 'GET', '/h/x', {}, 'example.com')).body.toString()).toMatch(/^host \d+ \/h\/x$/);
      // Another host: the static site (its 404 page).
      expect((await raw(h.port, 'GET', '/h/x', {}, 'other.test')).status).toBe(404);
      expect((await h.waitForLog((l) => l.event === 'route-loaded' && l.route === '/small')).sha256).toMatch(/^[0-9a-f]{12}$/);
    } finally {
      expect(await h.stop()).toBe(0);
    }
    const f = await startHttpdWith(['--config', file, '--route', `/flag=${path.join(dir, 'flag.mjs')}`, '--route-body-limit', '8K']);
    try {
      expect((await raw(f.port, 'GET', '/flag/y')).body.toString()).toMatch(/^flag \d+ \/flag\/y$/);
      expect((await raw(f.port, 'GET', '/big/x')).status).toBe(404); // the file's routes are replaced by the flag's
      expect(f.logs.filter((l) => l.event === 'route-loaded').map((l) => l.route)).toEqual(['/flag']);
    } finally {
      expect(await f.stop()).toBe(0);
    }
  });

  it('a module of the file that fails to import stops start-up with exit 2, naming the route, the file and the error', async () => {
    const dir = tmpDir('route-broken-');
    fs.writeFileSync(path.join(dir, 'broken.mjs'), 'export default (request => ;\n');
    const file = path.join(dir, 'httpd.toml');
    fs.writeFileSync(file, base(`\n[[route]]\nprefix = "/api/"\nmodule = "broken.mjs"\n`, 1));
    const r = await httpd(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`httpd: route /api: cannot load ${path.join(dir, 'broken.mjs')}: `);
    expect(r.stderr).toMatch(/SyntaxError|Unexpected token/);
  });
});

/** Keep-alive clients (bounded in count and time) recording each response body, until stopped. */
function load(h: RunningHttpd, target: string, clients = 6) {
  const seen: string[] = [];
  const failures: string[] = [];
  let stop = false;
  const deadline = performance.now() + 40_000;
  const client = async () => {
    for (let i = 0; i < 20_000 && !stop && performance.now() < deadline; i++) {
      try {
        const res = await fetch(h.url(target));
        const body = await res.text();
        if (res.status !== 200) failures.push(`${res.status} ${body}`);
        else seen.push(body);
      } catch (err) {
        failures.push(String((err as Error).cause ?? err));
      }
    }
  };
  const running = Array.from({ length: clients }, client);
  return {
    seen,
    failures,
    async waitFor(n: number) {
      const until = performance.now() + 15_000;
      while (seen.length < n && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      stop = true;
      await Promise.all(running);
    },
  };
}

const pidOf = (body: string) => Number(body.split(' ')[1]);

describe('routes on a configuration reload (workers replaced one by one)', () => {
  it('a changed module (SIGHUP, same file) and an added route roll the workers under load: 0 failed requests, the old module until the switch, then the new', async () => {
    const dir = tmpDir('route-roll-');
    const api = path.join(dir, 'api.mjs');
    fs.writeFileSync(api, moduleText('v1'));
    const file = path.join(dir, 'httpd.toml');
    const routes = `\n[[route]]\nprefix = "/api/"\nmodule = "api.mjs"\n`;
    fs.writeFileSync(file, base(routes));
    const h = await startHttpdWith(['--config', file]);
    const l = load(h, '/api/x');
    try {
      for (const w of [1, 2]) await h.waitForLog((x) => x.event === 'route-loaded' && x.worker === w);
      await l.waitFor(200);
      const before = l.seen.length;
      writeAtomically(api, moduleText('v2'));
      h.proc.kill('SIGHUP');
      const reloaded = await h.waitForLog((x) => x.event === 'config-reloaded');
      expect(reloaded.changed).toEqual(['routes']);
      expect((await h.waitForLog((x) => x.event === 'workers-rolling')).changed).toEqual(['/api']);
      const rolled = await h.waitForLog((x) => x.event === 'workers-rolled', 30_000);
      expect(rolled.workers).toBe(2);
      const retired = () => h.logs.filter((x) => x.event === 'worker-retired').length;
      const until = performance.now() + 15_000;
      while (retired() < 2 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(retired()).toBe(2);
      const switched = l.seen.length;
      await l.waitFor(switched + 300);

      // Then a route added by an edit of the file (seen by the watch): another roll, the new route served.
      fs.writeFileSync(path.join(dir, 'extra.mjs'), moduleText('extra'));
      writeAtomically(file, base(`${routes}\n[[route]]\nprefix = "/extra/"\nmodule = "extra.mjs"\n`));
      expect((await h.waitForLog((x) => x.event === 'workers-rolling' && (x.added as string[]).includes('/extra'))).removed).toEqual([]);
      await h.waitForLog((x) => x.event === 'workers-rolled' && (x.routes as string[]).includes('/extra'), 30_000);
      expect((await raw(h.port, 'GET', '/extra/y')).body.toString()).toMatch(/^extra \d+ \/extra\/y$/);
      await l.waitFor(l.seen.length + 200);
      await l.stop();

      expect(l.failures).toEqual([]);
      expect(l.seen.every((b) => /^v[12] \d+ \/api\/x$/.test(b))).toBe(true);
      // The old module until the reload, the new one after the roll (plus the requests in flight then).
      expect(l.seen.slice(0, before).every((b) => b.startsWith('v1 '))).toBe(true);
      expect(l.seen.slice(switched + 6).every((b) => b.startsWith('v2 '))).toBe(true);
      const oldPids = new Set(l.seen.slice(0, before).map(pidOf));
      expect(l.seen.slice(switched + 6).some((b) => oldPids.has(pidOf(b)))).toBe(false);
      expect(h.logs.filter((x) => x.event === 'worker-died' || x.event === 'crash-loop')).toEqual([]);
    } finally {
      await l.stop();
      expect(await h.stop()).toBe(0);
    }
  }, 90_000);

  it('a module that fails to import on reload is config-rejected: the old workers keep serving the old module; a fixed one rolls', async () => {
    const dir = tmpDir('route-reject-');
    const api = path.join(dir, 'api.mjs');
    fs.writeFileSync(api, moduleText('v1'));
    const file = path.join(dir, 'httpd.toml');
    fs.writeFileSync(file, base(`\n[[route]]\nprefix = "/api/"\nmodule = "api.mjs"\n`));
    const h = await startHttpdWith(['--config', file]);
    const l = load(h, '/api/x', 4);
    try {
      for (const w of [1, 2]) await h.waitForLog((x) => x.event === 'route-loaded' && x.worker === w);
      await l.waitFor(100);
      writeAtomically(api, 'export default (request => ;\n');
      h.proc.kill('SIGHUP');
      const rejected = await h.waitForLog((x) => x.event === 'config-rejected', 30_000);
      expect(rejected.keeping).toBe('the running configuration and workers');
      expect((rejected.problems as string[])[0]).toContain(`route /api: cannot load ${api}: `);
      const mark = l.seen.length;
      await l.waitFor(mark + 200);
      const pidsBefore = new Set(l.seen.slice(0, mark).map(pidOf));
      expect(l.seen.slice(mark).every((b) => b.startsWith('v1 ') && pidsBefore.has(pidOf(b)))).toBe(true);
      expect(h.logs.some((x) => x.event === 'worker-retiring' || x.event === 'workers-rolled')).toBe(false);

      // Fixed: the next SIGHUP compares with what runs (v1), so it rolls.
      writeAtomically(api, moduleText('v3'));
      h.proc.kill('SIGHUP');
      await h.waitForLog((x) => x.event === 'workers-rolled', 30_000);
      const after = l.seen.length;
      await l.waitFor(after + 200);
      await l.stop();
      expect(l.failures).toEqual([]);
      expect(l.seen.slice(after + 4).every((b) => b.startsWith('v3 '))).toBe(true);
      expect(h.logs.filter((x) => x.event === 'worker-died' || x.event === 'crash-loop')).toEqual([]);
    } finally {
      await l.stop();
      expect(await h.stop()).toBe(0);
    }
  }, 90_000);

  it('without a configuration file, SIGHUP re-reads the --route modules: a changed one replaces the worker, an unchanged one does not', async () => {
    const dir = tmpDir('route-flags-');
    const api = path.join(dir, 'api.mjs');
    fs.writeFileSync(api, moduleText('v1'));
    const h = await startHttpdWith([fx.vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--route', `/api=${api}`]);
    try {
      expect((await raw(h.port, 'GET', '/api/x')).body.toString()).toMatch(/^v1 /);
      h.proc.kill('SIGHUP');
      await h.waitForLog((x) => x.event === 'rescan');
      writeAtomically(api, moduleText('v2'));
      h.proc.kill('SIGHUP');
      await h.waitForLog((x) => x.event === 'workers-rolled', 30_000);
      expect(h.logs.filter((x) => x.event === 'workers-rolling')).toHaveLength(1); // the first SIGHUP saw the same digest
      expect((await raw(h.port, 'GET', '/api/x')).body.toString()).toMatch(/^v2 /);
    } finally {
      expect(await h.stop()).toBe(0);
    }
  }, 60_000);

  it('with --workers 0 a changed route is not reloaded (no process can replace this one): a warning says so, the old module keeps serving', async () => {
    const dir = tmpDir('route-lone-');
    const api = path.join(dir, 'api.mjs');
    fs.writeFileSync(api, moduleText('v1'));
    const file = path.join(dir, 'httpd.toml');
    fs.writeFileSync(file, base(`\n[[route]]\nprefix = "/api/"\nmodule = "api.mjs"\n`, 0));
    const h = await startHttpdWith(['--config', file]);
    try {
      writeAtomically(api, moduleText('v2'));
      h.proc.kill('SIGHUP');
      expect((await h.waitForLog((x) => x.event === 'routes-not-reloaded')).level).toBe('warn');
      expect((await raw(h.port, 'GET', '/api/x')).body.toString()).toMatch(/^v1 /);
    } finally {
      expect(await h.stop()).toBe(0);
    }
  });
});
