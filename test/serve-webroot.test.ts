import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebroot, webrootPlugin, type LogSink, type WebrootMiddleware } from '@webroot/httpd';
import { packDirectory } from '@webroot/mkroot';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { raw, type RawResponse } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { caseHeaders, COMPARED_FIELDS, STATIC_CASES, type StaticCase } from './helpers/static-cases.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

let fx: Fixture;
let httpd: RunningHttpd;
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  fx = await makeFixture();
  httpd = await startHttpd(fx.vhosts, ['--workers', '0']);
});
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  expect(await httpd.stop()).toBe(0);
});

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function request(port: number, mount: string, c: StaticCase): Promise<RawResponse> {
  return raw(port, c.method, `${mount}${c.path}`, caseHeaders(c, fx.webroots.default));
}

/** The multipart boundary is random per process: compare bodies and fields with it replaced. */
const unbound = (s: string) => s.replace(/webroot-[0-9a-f]{24}/g, 'BOUNDARY');

function expectSameAsHttpd(got: RawResponse, want: RawResponse, mount: string): void {
  expect(got.status).toBe(want.status);
  if (want.headers.location !== undefined && mount !== '') {
    // A redirect's body names its Location, which is below the mount here.
    expect(got.headers.location).toBe(`${mount}${want.headers.location}`);
    expect(got.body.toString()).toBe(want.body.toString().replace(want.headers.location, `${mount}${want.headers.location}`));
    return;
  }
  for (const f of COMPARED_FIELDS) expect(got.headers[f] === undefined ? undefined : unbound(got.headers[f]!), f).toBe(want.headers[f] === undefined ? undefined : unbound(want.headers[f]!));
  if (want.headers.location !== undefined) expect(got.headers.location).toBe(`${mount}${want.headers.location}`);
  else expect(got.headers).not.toHaveProperty('location');
  expect(unbound(got.body.toString('latin1'))).toBe(unbound(want.body.toString('latin1')));
}

/** Every shared case against an app, each compared with httpd's answer to the same request. */
function sharedCases(label: string, port: () => number, mount: string) {
  describe(`${label}: the same answers as httpd`, () => {
    it.each(STATIC_CASES)('$name', async (c) => {
      const [got, want] = await Promise.all([request(port(), mount, c), request(httpd.port, '', c)]);
      expect(want.status).toBe(c.status);
      expectSameAsHttpd(got, want, mount);
    });
  });
}

function recordingLogger(): LogSink & { lines: { level: string; event: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  return { lines, log: (level, event, fields) => void lines.push({ level, event, fields }) };
}

describe('node:http with serveWebroot (no next: missing paths are the site 404)', () => {
  let port = 0;
  beforeAll(async () => {
    const mw = serveWebroot(fx.webroots.default);
    const server = http.createServer(mw);
    port = await listen(server);
    closers.push(() => mw.close(), () => new Promise<void>((r) => server.close(() => r())));
  });
  sharedCases('node:http', () => port, '');

  it('a missing path is 404 with the site 404.html, as httpd', async () => {
    const [got, want] = await Promise.all([raw(port, 'GET', '/missing'), raw(httpd.port, 'GET', '/missing')]);
    expect(got.status).toBe(404);
    expectSameAsHttpd(got, want, '');
    expect(got.body.toString()).toContain('Custom not found page');
  });
});

describe('express 5: app.use("/static", serveWebroot(file)) then the app', () => {
  let port = 0;
  beforeAll(async () => {
    const app = express();
    const mw = serveWebroot(fx.webroots.default);
    app.use('/static', mw);
    app.get('/static/dynamic', (_req, res) => void res.send('from the app'));
    app.use((_req, res) => void res.status(404).send('app-404'));
    const server = http.createServer(app);
    port = await listen(server);
    closers.push(() => mw.close(), () => new Promise<void>((r) => server.close(() => r())));
  });
  sharedCases('express', () => port, '/static');

  it('a path the webroot does not have goes to the next handler (fallthrough)', async () => {
    const r = await raw(port, 'GET', '/static/dynamic');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('from the app');
    const missing = await raw(port, 'GET', '/static/nope.html');
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe('app-404');
  });

  it('the mount point itself redirects to its directory (/static -> /static/)', async () => {
    const r = await raw(port, 'GET', '/static?a=b');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/static/?a=b');
  });

  it('paths outside the mount are not touched', async () => {
    const r = await raw(port, 'GET', '/about.html');
    expect(r.body.toString()).toBe('app-404');
  });

  it('an encoded dot-dot that would leave the site is not looked up (the app gets it)', async () => {
    const r = await raw(port, 'GET', '/static/%2e%2e/%2e%2e/etc/passwd');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('app-404');
  });
});

describe('express 5: serveWebroot with prefix and fallthrough: false', () => {
  let port = 0;
  beforeAll(async () => {
    const app = express();
    const mw = serveWebroot(fx.webroots.default, { prefix: '/p/', fallthrough: false, cacheControl: 'public, max-age=60', io: 'stream', cacheSize: 0 });
    app.use(mw);
    app.use((_req, res) => void res.status(404).send('app-404'));
    const server = http.createServer(app);
    port = await listen(server);
    closers.push(() => mw.close(), () => new Promise<void>((r) => server.close(() => r())));
  });

  it('serves below the prefix with the configured Cache-Control, through the stream executor', async () => {
    const r = await raw(port, 'GET', '/p/big.bin');
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=60');
    expect(r.body.equals(fx.files['/big.bin']!)).toBe(true);
  });

  it('a missing path below the prefix is the site 404 page, not the app', async () => {
    const r = await raw(port, 'GET', '/p/nope');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toContain('Custom not found page');
  });

  it('a path outside the prefix still goes to the app', async () => {
    expect((await raw(port, 'GET', '/about.html')).body.toString()).toBe('app-404');
  });

  it('redirects carry the prefix', async () => {
    expect((await raw(port, 'GET', '/p/docs')).headers.location).toBe('/p/docs/');
  });
});

describe('fastify 5: fastify.register(webrootPlugin, { file, prefix: "/assets" })', () => {
  let port = 0;
  beforeAll(async () => {
    const app = Fastify();
    await app.register(webrootPlugin, { file: fx.webroots.default, prefix: '/assets' });
    app.get('/assets/api', async () => ({ ok: true }));
    app.setNotFoundHandler((_req, reply) => void reply.code(404).send('app-404'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
    closers.push(() => app.close());
  });
  sharedCases(
    'fastify',
    () => port,
    '/assets',
  );

  it('a path the webroot does not have goes to the not-found handler; the app keeps its routes', async () => {
    expect((await raw(port, 'GET', '/assets/nope.html')).body.toString()).toBe('app-404');
    const api = await raw(port, 'GET', '/assets/api');
    expect(JSON.parse(api.body.toString())).toEqual({ ok: true });
  });
});

describe('swaps, bad files and options', () => {
  async function pack(files: Record<string, string>): Promise<string> {
    const out = path.join(tmpDir('mw-webroot-'), 'site.webroot');
    await packDirectory(writeTree(tmpDir('mw-src-'), files), out);
    return out;
  }
  function swapLink(link: string, target: string) {
    const tmp = `${link}.tmp`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, link);
  }

  it('a swapped symlink is picked up (by the watch, and by check()), and a bad new file is refused and logged while the old keeps serving', async () => {
    const v1 = await pack({ 'v.txt': 'one\n' });
    const v2 = await pack({ 'v.txt': 'two\n' });
    const dir = tmpDir('mw-link-');
    const link = path.join(dir, 'current.webroot');
    fs.symlinkSync(v1, link);
    const logger = recordingLogger();
    const mw: WebrootMiddleware = serveWebroot(link, { logger, checkIntervalMs: 50 });
    const server = http.createServer(mw);
    const port = await listen(server);
    try {
      expect((await raw(port, 'GET', '/v.txt')).body.toString()).toBe('one\n');
      swapLink(link, v2);
      let body = '';
      for (let i = 0; i < 100 && body !== 'two\n'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        body = (await raw(port, 'GET', '/v.txt')).body.toString();
      }
      expect(body).toBe('two\n');
      expect(logger.lines.some((l) => l.event === 'webroot-swapped')).toBe(true);

      const bad = path.join(dir, 'bad.webroot');
      fs.writeFileSync(bad, 'not a webroot at all');
      swapLink(link, bad);
      expect(mw.check()).toBe(false);
      const refused = logger.lines.find((l) => l.event === 'webroot-refused');
      expect(refused?.fields?.code).toBe('WEBROOT_BAD_MAGIC');
      expect((await raw(port, 'GET', '/v.txt')).body.toString()).toBe('two\n');
      swapLink(link, v1);
      expect(mw.check()).toBe(true);
      expect((await raw(port, 'GET', '/v.txt')).body.toString()).toBe('one\n');
    } finally {
      mw.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a response in flight finishes on the old file after a swap', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const v1 = await pack({ 'big.txt': big });
    const v2 = await pack({ 'big.txt': 'small now\n' });
    const link = path.join(tmpDir('mw-link-'), 'current.webroot');
    fs.symlinkSync(v1, link);
    const mw = serveWebroot(link, { watch: false, cacheSize: 0 });
    const server = http.createServer(mw);
    const port = await listen(server);
    try {
      // A slow reader: the 4 MiB body is pumped in chunks with backpressure while we swap.
      const got = await new Promise<string>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: '/big.txt' }, (res) => {
          const parts: Buffer[] = [];
          res.pause();
          swapLink(link, v2);
          expect(mw.check()).toBe(true);
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve(Buffer.concat(parts).toString()));
          res.on('error', reject);
          setTimeout(() => res.resume(), 50);
        });
      });
      expect(got.length).toBe(big.length);
      expect(got === big).toBe(true);
      expect((await raw(port, 'GET', '/big.txt')).body.toString()).toBe('small now\n');
    } finally {
      mw.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a missing or bad file throws the reader error at creation', async () => {
    expect(() => serveWebroot('/nonexistent/site.webroot')).toThrow(expect.objectContaining({ code: 'WEBROOT_NOT_FOUND' }));
    const bad = path.join(tmpDir('mw-bad-'), 'x.webroot');
    fs.writeFileSync(bad, 'garbage');
    expect(() => serveWebroot(bad)).toThrow(expect.objectContaining({ code: 'WEBROOT_BAD_MAGIC' }));
  });

  it.each([
    [{ io: 'mmap' }, /io must be one of sync, stream, async/],
    [{ cacheSize: 'lots' }, /cacheSize must be/],
    [{ cacheSize: -1 }, /cacheSize must be/],
    [{ cacheControl: 'a\r\nSet-Cookie: x' }, /cacheControl must be a string without line breaks/],
    [{ prefix: '/a?b' }, /prefix must be a path/],
    [{ prefix: '/../x' }, /prefix must be a path/],
    [{ checkIntervalMs: -5 }, /checkIntervalMs/],
  ])('bad option %j is refused with a message naming it', (options, message) => {
    expect(() => serveWebroot(fx.webroots.default, options as never)).toThrow(message);
  });

  it('onError gets a failed body read; by default the client gets a 500 (nothing was sent yet)', async () => {
    const file = await pack({ 'a.txt': 'hello\n' });
    const seen: string[] = [];
    const mw = serveWebroot(file, { watch: false, cacheSize: 0, logger: recordingLogger(), onError: (err, _req, res) => {
      seen.push(err.message);
      res.statusCode = 503;
      res.end('custom');
    } });
    const plain = serveWebroot(file, { watch: false, cacheSize: 0, logger: recordingLogger() });
    const s1 = http.createServer(mw);
    const s2 = http.createServer(plain);
    const [p1, p2] = [await listen(s1), await listen(s2)];
    try {
      // Truncating the file under the open descriptor makes the positioned read come up short.
      fs.truncateSync(file, 4096);
      const r1 = await raw(p1, 'GET', '/a.txt');
      expect(r1.status).toBe(503);
      expect(r1.body.toString()).toBe('custom');
      expect(seen[0]).toMatch(/short read/);
      const r2 = await raw(p2, 'GET', '/a.txt');
      expect(r2.status).toBe(500);
    } finally {
      mw.close();
      plain.close();
      await Promise.all([s1, s2].map((s) => new Promise<void>((r) => s.close(() => r()))));
    }
  });
});
