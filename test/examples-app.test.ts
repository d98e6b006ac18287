import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd } from './helpers/httpd.js';
import { ROOT } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';

// The examples the README shows (examples/app/), run as they are.
let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

const running: (() => void)[] = [];
afterAll(() => running.splice(0).forEach((stop) => stop()));

function startExample(file: string): Promise<number> {
  const child = spawn(process.execPath, [path.join(ROOT, 'examples/app', file)], { env: { ...process.env, PORT: '0', WEBROOT: fx.webroots.default }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(() => child.kill('SIGKILL'));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start: ${out}`)), 15_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => reject(new Error(`${file} exited ${code}: ${out}`)));
  });
}

describe('README examples (examples/app)', () => {
  it('express.mjs serves the webroot below /static and its own route', async () => {
    const port = await startExample('express.mjs');
    const r = await raw(port, 'GET', '/static/about.html');
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=300');
    expect(r.body.equals(fx.files['/about.html']!)).toBe(true);
    expect((await raw(port, 'GET', '/hello')).body.toString()).toBe('hello from express');
  });

  it('fastify.mjs serves the webroot below /assets and its own route', async () => {
    const port = await startExample('fastify.mjs');
    expect((await raw(port, 'GET', '/assets/about.html')).body.equals(fx.files['/about.html']!)).toBe(true);
    expect((await raw(port, 'GET', '/hello')).body.toString()).toBe('hello from fastify');
  });

  it('node-http.mjs serves the site, with its 404 page', async () => {
    const port = await startExample('node-http.mjs');
    expect((await raw(port, 'GET', '/')).body.equals(fx.files['/index.html']!)).toBe(true);
    const missing = await raw(port, 'GET', '/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain('Custom not found page');
  });

  it('route.mjs under httpd --route', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '0', '--route', `/api=${path.join(ROOT, 'examples/app/route.mjs')}`]);
    try {
      expect((await raw(srv.port, 'GET', '/api/health')).body.toString()).toBe('ok\n');
      expect((await raw(srv.port, 'GET', '/api/about')).body.equals(fx.files['/about.html']!)).toBe(true);
      expect((await raw(srv.port, 'GET', '/about.html')).body.equals(fx.files['/about.html']!)).toBe(true);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});
