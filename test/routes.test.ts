import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { parseResponses, raw, rawExchange, rawRequests } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

/** The route module most tests use: one behaviour per path. */
const API = `
let pulled = 0;
export default async function handler(request, ctx) {
  const url = new URL(request.url);
  switch (url.pathname) {
    case '/api/info':
      return Response.json({ name: 'api', method: request.method, host: ctx.host, prefix: ctx.prefix, remote: ctx.remoteAddress, url: request.url, ua: request.headers.get('x-test'), pid: process.pid });
    case '/api/echo': {
      const body = new Uint8Array(await request.arrayBuffer());
      return new Response(body, { status: 201, headers: { 'content-type': request.headers.get('content-type') ?? 'application/octet-stream', 'x-length': String(body.length) } });
    }
    case '/api/ignore-body':
      return new Response('did not read it');
    case '/api/file':
      return new Response(ctx.readFile('/about.html'), { headers: { 'content-type': 'text/html' } });
    case '/api/cookies': {
      const h = new Headers();
      h.append('set-cookie', 'a=1');
      h.append('set-cookie', 'b=2');
      h.set('content-length', '999');
      h.set('connection', 'upgrade');
      return new Response('ok', { headers: h });
    }
    case '/api/bad-header':
      return new Response('x', { headers: { 'x-bad': 'a\\r\\nInjected: yes' } });
    case '/api/stream': {
      // 512 chunks of 64 KiB, made only when the server pulls: counts how far ahead of the client it got.
      const n = Number(url.searchParams.get('n') ?? 512);
      let i = 0;
      return new Response(new ReadableStream({
        pull(c) {
          if (i++ >= n) return c.close();
          pulled++;
          c.enqueue(new Uint8Array(65536).fill(97 + (i % 26)));
        },
      }, { highWaterMark: 0 }));
    }
    case '/api/pulled':
      return new Response(String(pulled));
    case '/api/throw':
      throw new Error('handler threw');
    case '/api/reject':
      return Promise.reject(new Error('handler rejected'));
    case '/api/not-a-response':
      return { status: 200 };
    case '/api/never':
      return new Promise(() => {});
    case '/api/mid-stream-error': {
      let i = 0;
      return new Response(new ReadableStream({ pull(c) { if (i++ < 2) c.enqueue(new TextEncoder().encode('part ' + i)); else c.error(new Error('stream broke')); } }));
    }
    case '/api/head':
      return new Response(request.method === 'HEAD' ? null : 'twelve bytes', { headers: { 'content-length': '12' } });
    default:
      return new Response('api fallback: ' + url.pathname, { status: 404 });
  }
}
`;
const named = (name: string) => `export default (request, ctx) => new Response(${JSON.stringify(name)} + ' ' + new URL(request.url).pathname + ' ' + ctx.host);\n`;

let fx: Fixture;
let dir: string;
const mod = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  fx = await makeFixture();
  dir = tmpDir('routes-');
  mod('api.mjs', API);
  mod('v2.mjs', named('v2'));
  mod('example.mjs', named('example'));
  mod('root-only.mjs', named('exact'));
});

// WEBROOT_PORTABLE_ROUTES=1: every response body is read through its stream (routes/response-source.ts).
describe.each([
  { name: '', env: {} },
  { name: ' (bodies read through their streams)', env: { WEBROOT_PORTABLE_ROUTES: '1' } },
])('httpd --route$name', ({ env }) => {
  let srv: RunningHttpd;
  beforeAll(async () => {
    srv = await startHttpd(fx.vhosts, [
      '--workers', '1',
      '--route', `/api=${path.join(dir, 'api.mjs')}`,
      '--route', `/api/v2=${path.join(dir, 'v2.mjs')}`,
      '--route', `example.com/api=${path.join(dir, 'example.mjs')}`,
      '--route-body-limit', '64K',
      '--route-body-timeout', '0.5',
      '--route-timeout', '0.7',
    ], env);
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  it('a route gets a WHATWG Request and a context; the static site keeps every other path', async () => {
    const r = await raw(srv.port, 'GET', '/api/info?q=1', { 'X-Test': 'yes' }, 'Localhost:' + srv.port);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers.server).toBe('webroot');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(Number.isNaN(Date.parse(r.headers.date!))).toBe(false);
    const info = JSON.parse(r.body.toString());
    expect(info).toMatchObject({ name: 'api', method: 'GET', host: 'localhost', prefix: '/api', remote: '127.0.0.1', url: `http://localhost:${srv.port}/api/info?q=1`, ua: 'yes' });
    const home = await raw(srv.port, 'GET', '/');
    expect(home.body.equals(fx.files['/index.html']!)).toBe(true);
    expect((await raw(srv.port, 'GET', '/apix')).body.toString()).toContain('Custom not found page'); // /apix is not below /api
  });

  it('the longest prefix wins, and a host route beats an every-host route of the same prefix', async () => {
    expect((await raw(srv.port, 'GET', '/api/v2/x')).body.toString()).toBe('v2 /api/v2/x localhost');
    expect((await raw(srv.port, 'GET', '/api/v2')).body.toString()).toBe('v2 /api/v2 localhost');
    expect((await raw(srv.port, 'GET', '/api/v22')).body.toString()).toBe('api fallback: /api/v22');
    expect((await raw(srv.port, 'GET', '/api/x', {}, 'Example.COM.')).body.toString()).toBe('example /api/x example.com');
    expect((await raw(srv.port, 'GET', '/api/v2/x', {}, 'example.com')).body.toString()).toBe('v2 /api/v2/x example.com');
  });

  it('the route is chosen on the normalised path: dot segments and encodings cannot reach or dodge it', async () => {
    expect((await raw(srv.port, 'GET', '/docs/../api/v2/')).body.toString()).toBe('v2 /api/v2/ localhost'); // request.url is a WHATWG URL: normalised too
    expect((await raw(srv.port, 'GET', '/%61pi/v2')).body.toString()).toBe('v2 /%61pi/v2 localhost');
    expect((await raw(srv.port, 'GET', '/api/../about.html')).body.equals(fx.files['/about.html']!)).toBe(true);
  });

  it('context.readFile reads the site webroot', async () => {
    const r = await raw(srv.port, 'GET', '/api/file');
    expect(r.body.equals(fx.files['/about.html']!)).toBe(true);
  });

  it('a Content-Length body is read, and the next pipelined request is answered after it (RFC 9112 section 6.3)', async () => {
    const body = 'x'.repeat(40_000);
    const rs = await rawRequests(srv.port, `POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /about.html HTTP/1.1\r\nHost: a\r\n\r\nGET /api/info HTTP/1.1\r\nHost: a\r\n\r\n`, 3);
    expect(rs.map((r) => r.status)).toEqual([201, 200, 200]);
    expect(rs[0]!.body.toString()).toBe(body);
    expect(rs[0]!.headers['content-type']).toBe('text/plain');
    expect(rs[1]!.body.equals(fx.files['/about.html']!)).toBe(true);
  });

  it('a chunked body is decoded, extensions and trailers ignored (RFC 9112 section 7.1)', async () => {
    const rs = await rawRequests(srv.port, 'POST /api/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nGET /api/info HTTP/1.1\r\nHost: a\r\n\r\n', 2);
    expect(rs[0]!.status).toBe(201);
    expect(rs[0]!.body.toString()).toBe('hello world');
    expect(rs[1]!.status).toBe(200);
  });

  it('a malformed chunked body is a 400 and the connection closes', async () => {
    const { data, closed } = await rawExchange(srv.port, 'POST /api/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    expect(parseResponses(data)[0]!.status).toBe(400);
    expect(closed).toBe(true);
  });

  it('a Content-Length over --route-body-limit is 413 at once, without reading the body or calling the handler (RFC 9110 section 15.5.14)', async () => {
    // Only the head is sent: the answer must not wait for the 100,000 bytes.
    const { data, closed } = await rawExchange(srv.port, 'POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n', 3000);
    const [r] = parseResponses(data);
    expect(r!.status).toBe(413);
    expect(r!.headers.connection).toBe('close');
    expect(closed).toBe(true);
  });

  it('a chunked body that grows past the limit is 413', async () => {
    const chunk = 'y'.repeat(30_000);
    const body = [chunk, chunk, chunk].map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n';
    const { data } = await rawExchange(srv.port, `POST /api/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 3000);
    expect(parseResponses(data)[0]!.status).toBe(413);
  });

  it('Expect: 100-continue gets 100 Continue before the body is sent, then the response (RFC 9110 section 10.1.1)', async () => {
    const socket = net.connect(srv.port, '127.0.0.1');
    try {
      let data = Buffer.alloc(0);
      const waitFor = (pred: () => boolean) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(data.toString())}`)), 3000);
          const check = () => pred() && (clearTimeout(timer), socket.off('data', onData), resolve());
          const onData = (c: Buffer) => ((data = Buffer.concat([data, c])), check());
          socket.on('data', onData);
          check();
        });
      socket.write('POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
      await waitFor(() => data.includes('\r\n\r\n'));
      expect(data.toString()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      data = Buffer.alloc(0);
      socket.write('hello');
      await waitFor(() => data.toString().endsWith('hello'));
      expect(data.toString()).toMatch(/^HTTP\/1\.1 201 /);
    } finally {
      socket.destroy();
    }
  });

  it('an Expect other than 100-continue is 417', async () => {
    const { data } = await rawExchange(srv.port, 'POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: something\r\n\r\nx');
    expect(parseResponses(data)[0]!.status).toBe(417);
  });

  it('a body that stops arriving gets 408 after --route-body-timeout', async () => {
    const { data, closed } = await rawExchange(srv.port, 'POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', 5000);
    expect(parseResponses(data)[0]!.status).toBe(408);
    expect(closed).toBe(true);
  });

  it('a body the handler does not read: the response, then the connection closes (its framing is unknown)', async () => {
    const { data, closed } = await rawExchange(srv.port, 'POST /api/ignore-body HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', 3000);
    const [r] = parseResponses(data);
    expect(r!.body.toString()).toBe('did not read it');
    expect(r!.headers.connection).toBe('close');
    expect(closed).toBe(true);
  });

  it('the server owns framing: two Set-Cookie lines; a handler Content-Length or Connection is not sent', async () => {
    const { data } = await rawExchange(srv.port, 'GET /api/cookies HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const text = data.toString();
    expect(text.match(/^set-cookie: /gim)).toHaveLength(2);
    const [r] = parseResponses(data);
    expect(r!.headers['content-length']).toBe('2');
    expect(r!.headers.connection).toBe('close');
    expect(r!.body.toString()).toBe('ok');
  });

  it('a header value with CR LF never reaches the wire: the Response constructor throws, so 500', async () => {
    const { data } = await rawExchange(srv.port, 'GET /api/bad-header HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(data.toString()).not.toMatch(/Injected/);
    expect(parseResponses(data)[0]!.status).toBe(500);
  });

  it('HEAD: no body, the handler Content-Length kept (RFC 9110 section 9.3.2)', async () => {
    const { data } = await rawExchange(srv.port, 'HEAD /api/head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(data.toString().endsWith('\r\n\r\n')).toBe(true);
    const [r] = parseResponses(data, [true]);
    expect(r!.headers['content-length']).toBe('12');
  });

  it('a ReadableStream body is sent chunked, pulled only as fast as the client reads (bounded memory)', async () => {
    const socket = net.connect(srv.port, '127.0.0.1');
    const total = 512 * 65536;
    try {
      await new Promise((r) => socket.once('connect', r));
      socket.pause();
      socket.write('GET /api/stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      await new Promise((r) => setTimeout(r, 600));
      // The client has read nothing: the server may be ahead by the socket buffers only, not by the 32 MiB.
      const pulled = Number((await raw(srv.port, 'GET', '/api/pulled')).body.toString());
      expect(pulled).toBeGreaterThan(0);
      expect(pulled).toBeLessThan(256);
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => resolve());
        socket.on('error', reject);
        socket.resume();
      });
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      expect(all.subarray(0, headEnd).toString()).toMatch(/Transfer-Encoding: chunked/);
      // Decode the chunked body: its size must be exactly the 512 chunks.
      let pos = headEnd + 4;
      let size = 0;
      for (let i = 0; i < 10_000; i++) {
        const lineEnd = all.indexOf('\r\n', pos);
        const n = parseInt(all.toString('latin1', pos, lineEnd), 16);
        pos = lineEnd + 2 + n + 2;
        if (n === 0) break;
        size += n;
      }
      expect(size).toBe(total);
    } finally {
      socket.destroy();
    }
  });

  it('HTTP/1.0: a streamed body is delimited by closing the connection', async () => {
    const { data, closed } = await rawExchange(srv.port, 'GET /api/stream?n=3 HTTP/1.0\r\nHost: a\r\n\r\n');
    expect(closed).toBe(true);
    const text = data.toString('latin1');
    expect(text).not.toMatch(/Transfer-Encoding/i);
    expect(text.length - text.indexOf('\r\n\r\n') - 4).toBe(3 * 65536);
  });

  it.each([
    ['throws', '/api/throw', 'handler threw'],
    ['rejects', '/api/reject', 'handler rejected'],
    ['returns something else than a Response', '/api/not-a-response', 'the handler returned object, not a Response'],
  ])('a handler that %s gets a 500, logged with its stack, and the worker keeps serving on the same connection', async (_what, target, error) => {
    const rs = await rawRequests(srv.port, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\nGET /api/info HTTP/1.1\r\nHost: a\r\n\r\n`, 2);
    expect(rs.map((r) => r.status)).toEqual([500, 200]);
    const logged = await srv.waitForLog((l) => l.event === 'route-failed' && l.target === target);
    expect(logged).toMatchObject({ level: 'error', route: '/api', method: 'GET', error });
    expect(String(logged.stack)).toMatch(/Error/);
  });

  it('an error after the response started closes the connection (no half response passes as whole)', async () => {
    const { data, closed } = await rawExchange(srv.port, 'GET /api/mid-stream-error HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(closed).toBe(true);
    expect(data.toString()).toMatch(/^HTTP\/1\.1 200 /);
    expect(data.toString()).not.toMatch(/\r\n0\r\n\r\n$/); // no last-chunk: the client sees it incomplete
    await srv.waitForLog((l) => l.event === 'route-failed' && l.error === 'stream broke');
  });

  it('a handler that never answers gets 504 after --route-timeout', async () => {
    const r = await raw(srv.port, 'GET', '/api/never');
    expect(r.status).toBe(504);
    await srv.waitForLog((l) => l.event === 'route-timeout');
  });
});

describe('route crash safety (each with a real module)', () => {
  it('an uncaught exception in a module: the worker finishes its other responses, exits, and is replaced', async () => {
    mod('crashy.mjs', `
      export default async (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/r/slow') { await new Promise((r) => setTimeout(r, 800)); return new Response('slow done'); }
        if (path === '/r/crash') { setImmediate(() => { throw new Error('thrown outside any handler'); }); return new Response('crash scheduled'); }
        return new Response(String(process.pid));
      };`);
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--route', `/r=${path.join(dir, 'crashy.mjs')}`]);
    try {
      const firstPid = (await raw(srv.port, 'GET', '/r/pid')).body.toString();
      const slow = raw(srv.port, 'GET', '/r/slow');
      await new Promise((r) => setTimeout(r, 100));
      expect((await raw(srv.port, 'GET', '/r/crash')).body.toString()).toBe('crash scheduled');
      const slowDone = await slow;
      expect(slowDone.status).toBe(200);
      expect(slowDone.body.toString()).toBe('slow done');
      const crashed = await srv.waitForLog((l) => l.event === 'worker-crashed');
      expect(crashed).toMatchObject({ level: 'error', error: 'thrown outside any handler' });
      expect(String(crashed.stack)).toMatch(/crashy\.mjs/);
      await srv.waitForLog((l) => l.event === 'worker-retiring');
      expect(await srv.waitForLog((l) => l.event === 'worker-retired')).toMatchObject({ exitCode: 70 });
      const nextPid = (await raw(srv.port, 'GET', '/r/pid')).body.toString();
      expect(nextPid).not.toBe(firstPid);
      expect((await raw(srv.port, 'GET', '/about.html')).status).toBe(200);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('an unhandled rejection in a module retires the worker the same way', async () => {
    mod('rejecty.mjs', `export default async () => { Promise.reject(new Error('nobody caught this')); return new Response('ok'); };`);
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--route', `/r=${path.join(dir, 'rejecty.mjs')}`]);
    try {
      expect((await raw(srv.port, 'GET', '/r/x')).status).toBe(200);
      expect(await srv.waitForLog((l) => l.event === 'unhandled-rejection')).toMatchObject({ error: 'nobody caught this' });
      await srv.waitForLog((l) => l.event === 'worker-retired');
      expect((await raw(srv.port, 'GET', '/r/x')).status).toBe(200);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a handler that blocks the event loop longer than --watchdog: the primary kills the worker and a new one serves', async () => {
    mod('blocky.mjs', `
      export default (request) => {
        if (new URL(request.url).pathname === '/r/block') { const end = performance.now() + 5000; while (performance.now() < end) {} }
        return new Response(String(process.pid));
      };`);
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--watchdog', '0.5', '--route', `/r=${path.join(dir, 'blocky.mjs')}`]);
    try {
      const firstPid = (await raw(srv.port, 'GET', '/r/pid')).body.toString();
      const blocked = await rawExchange(srv.port, 'GET /r/block HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 4000);
      expect(blocked.closed, JSON.stringify(srv.logs.filter((l) => l.event !== 'vhost-loaded'))).toBe(true); // killed: no answer, the connection is gone
      expect(blocked.data.length).toBe(0);
      expect(await srv.waitForLog((l) => l.event === 'worker-unresponsive')).toMatchObject({ level: 'error', limitMs: 500 });
      await srv.waitForLog((l) => l.event === 'worker-died' && l.signal === 'SIGKILL');
      const nextPid = (await raw(srv.port, 'GET', '/r/pid')).body.toString();
      expect(nextPid).not.toBe(firstPid);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});

describe('route start-up errors stop httpd with exit 2 and one clear line', () => {
  it.each([
    ['a module that throws on import', 'throws.mjs', "throw new Error('broken at import');", /route \/r: cannot load .*throws\.mjs: broken at import/],
    ['a module with a syntax error', 'syntax.mjs', 'export default (', /route \/r: cannot load .*syntax\.mjs: /],
    ['a module without a default function', 'nodefault.mjs', 'export const x = 1;', /nodefault\.mjs has no default export function/],
  ])('%s', async (_name, file, text, message) => {
    const p = mod(file, text);
    for (const workers of ['0', '1']) {
      const r = await runNode(HTTPD_BIN, [fx.vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', workers, '--route', `/r=${p}`], { timeoutMs: 15_000 });
      expect(r.code, `--workers ${workers}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/"event":"listening"/);
    }
  });

  it.each([
    ['no =', '/api', /has no '=MODULE'/],
    ['no prefix', 'api=x.mjs', /has no path prefix/],
    ['a bad host', 'exa mple/api=x.mjs', /is not a host name/],
    ['a prefix with ..', '/../api=x.mjs', /is not a path prefix/],
    ['not a module file', '/api=x.txt', /not an ES module file/],
    ['a missing module', '/api=/nonexistent/x.mjs', /no such file/],
  ])('--route with %s', async (_name, value, message) => {
    const r = await runNode(HTTPD_BIN, [fx.vhosts, '--port', '0', '--workers', '0', '--route', value], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^httpd: --route /);
    expect(r.stderr).toMatch(message);
  });
});
