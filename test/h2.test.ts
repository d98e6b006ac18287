import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import { packDirectory } from '@webroot/mkroot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { h2Connect, h2Request } from './helpers/h2.js';
import { rapidReset } from './helpers/h2-flood.js';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { raw, type RawResponse } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { caseHeaders, STATIC_CASES, type StaticCase } from './helpers/static-cases.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

// HTTP/2 (RFC 9113) on the TLS port, negotiated by ALPN. Every case of the HTTP/1.1 suite that
// is about semantics is checked by asking the same server the same thing over HTTPS/1.1 and
// over HTTP/2 and comparing status, fields and bytes: the two serializers of one response.
const skip = opensslMissing;
if (skip) console.log(`h2.test.ts: skipped: ${skip}`);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

let fx: Fixture;
let certs: string;
beforeAll(async () => {
  if (skip) return;
  fx = await makeFixture();
  certs = tmpDir('certs-');
  makeCert(certs, '__default__', { cn: 'localhost' });
});

/** Fields that legitimately differ between two responses (Date) or exist in HTTP/1.1 only. */
function comparable(r: RawResponse): Record<string, string> {
  const { date: _date, connection: _connection, ...rest } = r.headers;
  return rest;
}

const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

type Case = StaticCase & { authority?: string };

/**
 * The semantic cases every server of the test site answers alike (helpers/static-cases.ts), and what only
 * httpd itself answers (the middleware calls next() for these): each is asked over HTTPS/1.1 and HTTP/2.
 */
const CASES: Case[] = [
  ...STATIC_CASES,
  { name: 'If-Modified-Since at the Last-Modified gives 304 with Vary (13.1.3)', method: 'GET', path: '/index.html', headers: { 'If-Modified-Since': new Date(1_700_000_000_000).toUTCString() }, status: 304 },
  { name: 'an unsatisfiable range gives 416 with content-range */length and no content-encoding (15.5.17)', method: 'GET', path: '/index.html', headers: { Range: 'bytes=999999-', 'Accept-Encoding': 'br' }, status: 416 },
  { name: 'HEAD carries Vary and content-encoding like GET', method: 'HEAD', path: '/index.html', headers: { 'Accept-Encoding': 'gzip' }, status: 200 },
  { name: 'a missing path is 404 with the custom 404 page', method: 'GET', path: '/no/such/page', status: 404 },
  { name: 'HEAD of a missing path is 404 without a body', method: 'HEAD', path: '/no/such/page', status: 404 },
  { name: 'a directory without index.html is 404', method: 'GET', path: '/files/', status: 404 },
  { name: 'an encoded NUL is 400', method: 'GET', path: '/a%00b', status: 400 },
  { name: 'the site is chosen by :authority, case-insensitively, without the port', method: 'GET', path: '/', authority: 'EXAMPLE.com:8443', status: 200 },
  { name: 'an unknown authority gets __default__', method: 'GET', path: '/about.html', authority: 'unknown.test', status: 200 },
];

describe.skipIf(skip !== undefined).each([
  { name: 'sync with the object cache', io: 'sync', cache: '32M' },
  { name: 'stream, no cache', io: 'stream', cache: '0' },
] as const)('HTTP/2 over TLS, --io $name', ({ io, cache }) => {
  let srv: RunningHttpd;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    srv = await startHttpd(fx.vhosts, ['--io', io, '--cache-size', cache, '--workers', '1', '--tls-port', '0', '--certs', certs, '--hsts', '600']);
    session = await h2Connect(srv.tlsPort!);
  });
  afterAll(async () => {
    session?.close();
    if (srv) expect(await srv.stop()).toBe(0);
  });

  it('ALPN chooses h2 when offered and http/1.1 otherwise (RFC 7301 section 3.2)', async () => {
    for (const [offer, want] of [[['h2', 'http/1.1'], 'h2'], [['http/1.1'], 'http/1.1'], [['http/1.1', 'h2'], 'h2']] as const) {
      const s = tls.connect({ port: srv.tlsPort!, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: [...offer] });
      await new Promise((r) => s.once('secureConnect', r));
      expect(s.alpnProtocol, offer.join(',')).toBe(want);
      s.destroy();
    }
  });

  it.each(CASES)('$name: the same status, fields and bytes as HTTPS/1.1', async (c) => {
    const headers = caseHeaders(c, fx.webroots.default);
    const h1 = await raw({ port: srv.tlsPort!, tls: true }, c.method, c.path, headers, c.authority ?? 'localhost');
    const h2 = await h2Request(session, c.method, c.path, headers, c.authority ?? 'localhost');
    expect(h1.status).toBe(c.status);
    expect(h2.status).toBe(c.status);
    expect(comparable(h2)).toEqual(comparable(h1));
    expect(h2.body.equals(h1.body)).toBe(true);
    if (c.method === 'HEAD' || c.status === 304 || c.status === 204) expect(h2.body.length).toBe(0);
    // RFC 9113 section 8.2.2: no connection-specific field; 8.2.1: names in lower case.
    for (const name of CONNECTION_SPECIFIC) expect(h2.headers, name).not.toHaveProperty(name);
    for (const name of h2.headerNames) expect(name).toBe(name.toLowerCase());
    expect(h2.headers['strict-transport-security']).toBe('max-age=600');
    expect(h2.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  });

  it('a 304 to If-None-Match carries the validators of the 200 and no body (RFC 9110 section 15.4.5)', async () => {
    const full = await h2Request(session, 'GET', '/index.html');
    const r = await h2Request(session, 'GET', '/index.html', { 'If-None-Match': full.headers.etag! });
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect(r.headers.etag).toBe(full.headers.etag);
    expect(r.headers['last-modified']).toBe(full.headers['last-modified']);
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.headers).not.toHaveProperty('content-length');
    expect(r.headers).not.toHaveProperty('content-type');
  });

  it('50 concurrent streams on one session each get their own bytes', async () => {
    const paths = ['/about.html', '/c++.html', '/files/a.txt', '/files/b.txt', '/big.txt'];
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => h2Request(session, 'GET', paths[i % paths.length]!)));
    rs.forEach((r, i) => expect(r.body.equals(fx.files[paths[i % paths.length]!]!)).toBe(true));
  });

  it('the session advertises the stream and header-list limits (RFC 9113 section 6.5.2)', async () => {
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    expect(session.remoteSettings.maxHeaderListSize).toBe(16384);
    expect(session.remoteSettings.enablePush).toBe(false);
  });

  it('a header list over SETTINGS_MAX_HEADER_LIST_SIZE gets 431 (RFC 9113 section 6.5.2, RFC 6585 section 5), and the server goes on serving', async () => {
    const s = await h2Connect(srv.tlsPort!);
    try {
      const r = await h2Request(s, 'GET', '/about.html', { 'x-big': 'a'.repeat(20_000) });
      expect(r.status).toBe(431);
      expect(r.body.toString()).toBe('431 Request Header Fields Too Large\n');
      // Just under the limit is served.
      expect((await h2Request(s, 'GET', '/about.html', { 'x-big': 'a'.repeat(15_000) })).status).toBe(200);
    } finally {
      s.destroy();
    }
    expect((await h2Request(session, 'GET', '/about.html')).status).toBe(200);
  });

  it('streams reset by the client mid-body disturb neither the other streams nor the webroot', async () => {
    const whole = Promise.all([h2Request(session, 'GET', '/big.bin'), h2Request(session, 'GET', '/big.txt')]);
    for (let i = 0; i < 3; i++) {
      const req = session.request({ ':path': '/big.bin', ':authority': 'localhost' });
      req.on('error', () => {});
      await new Promise((r) => req.once('data', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
    }
    const [big, txt] = await whole;
    expect(big.body.equals(fx.files['/big.bin']!)).toBe(true);
    expect(txt.body.equals(fx.files['/big.txt']!)).toBe(true);
    expect((await h2Request(session, 'GET', '/big.bin')).body.equals(fx.files['/big.bin']!)).toBe(true);
  });

  it('a HEADERS + RST_STREAM flood ("rapid reset", CVE-2023-44487) ends that session with GOAWAY ENHANCE_YOUR_CALM; others go on', async () => {
    // Raw frames, each reset in the same write as its request (helpers/h2-flood.ts); bounded: at most 2,000
    // streams, stopping at the server's GOAWAY or close, and 10 s.
    const code = await rapidReset(srv.tlsPort!);
    expect(code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await srv.waitForLog((l) => l.event === 'h2-rapid-reset');
    expect((await h2Request(session, 'GET', '/about.html')).status).toBe(200);
  });

  it.skipIf(!has('h2load'))('h2load killed mid-run (every stream of its sessions reset by the dropped connections) leaves the worker serving, nothing logged as an error', async () => {
    // Small cached bodies: the path that hands them to the native stream (h2/fast-respond.ts send). Bounded: 1.5 s of load.
    const load = spawn('h2load', ['-n', '10000000', '-c', '8', '-m', '10', `https://127.0.0.1:${srv.tlsPort}/about.html`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    load.kill('SIGKILL');
    await new Promise((r) => load.once('exit', r));
    expect((await h2Request(session, 'GET', '/about.html')).body.equals(fx.files['/about.html']!)).toBe(true);
    const fresh = await h2Connect(srv.tlsPort!);
    try {
      expect((await h2Request(fresh, 'GET', '/about.html')).status).toBe(200);
    } finally {
      fresh.close();
    }
    expect(srv.logs.filter((l) => l.level === 'error' || l.event === 'worker-died')).toEqual([]);
  });

  it.skipIf(!has('curl'))('curl --http2 gets the same bytes over HTTP/2', () => {
    const out = path.join(tmpDir('curl-'), 'index.html');
    const r = spawnSync('curl', ['-sk', '--http2', '-o', out, '-w', '%{http_code} %{http_version}', `https://localhost:${srv.tlsPort}/`, '--resolve', `localhost:${srv.tlsPort}:127.0.0.1`], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout).toBe('200 2');
    expect(fs.readFileSync(out).equals(fx.files['/index.html']!)).toBe(true);
  });

  it.skipIf(!has('nghttp'))('nghttp gets the same bytes and a 304 on revalidation', () => {
    // Without -n, nghttp writes the response body to standard output.
    const big = spawnSync('nghttp', [`https://127.0.0.1:${srv.tlsPort}/big.bin`], { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 });
    expect(big.status).toBe(0);
    expect(big.stdout.equals(fx.files['/big.bin']!)).toBe(true);
    const dump = spawnSync('nghttp', ['-v', `https://127.0.0.1:${srv.tlsPort}/about.html`], { encoding: 'utf8', timeout: 10_000 });
    expect(dump.stdout).toMatch(/:status: 200/);
    const etag = /etag: (".*")/.exec(dump.stdout)![1]!;
    const again = spawnSync('nghttp', ['-v', '-H', `if-none-match: ${etag}`, `https://127.0.0.1:${srv.tlsPort}/about.html`], { encoding: 'utf8', timeout: 10_000 });
    expect(again.stdout).toMatch(/:status: 304/);
  });
});

if (!has('curl')) console.log('h2.test.ts: the curl --http2 case is skipped: curl is not installed (.ci/apt.d/tls.txt lists it)');
if (!has('nghttp')) console.log('h2.test.ts: the nghttp case is skipped: nghttp is not installed (apt-get install nghttp2-client)');
if (!has('h2load')) console.log('h2.test.ts: the killed-h2load case is skipped: h2load is not installed (apt-get install nghttp2-client)');

describe.skipIf(skip !== undefined)('HTTP/2 in the access log', () => {
  it('each stream is one line, with protocol HTTP/2.0, in the combined and json formats', async () => {
    for (const format of ['combined', 'json'] as const) {
      const file = path.join(tmpDir('h2-log-'), 'access.log');
      const conf = path.join(tmpDir('h2-conf-'), 'httpd.toml');
      fs.writeFileSync(conf, `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = 1\n[[listen]]\naddress = "127.0.0.1:0"\n[access_log]\npath = ${JSON.stringify(file)}\nformat = "${format}"\n`);
      const srv = await startHttpd(fx.vhosts, ['--config', conf, '--tls-port', '0', '--certs', certs]);
      const session = await h2Connect(srv.tlsPort!);
      try {
        await h2Request(session, 'GET', '/about.html', { 'user-agent': 'h2-test' });
        await h2Request(session, 'GET', '/no/such/page');
        const deadline = performance.now() + 5000;
        let text = '';
        while (performance.now() < deadline && text.split('\n').filter(Boolean).length < 2) {
          await new Promise((r) => setTimeout(r, 50));
          text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        }
        const lines = text.split('\n').filter(Boolean);
        expect(lines).toHaveLength(2);
        if (format === 'combined') {
          expect(lines[0]).toContain(`"GET /about.html HTTP/2.0" 200 ${fx.files['/about.html']!.length} "-" "h2-test"`);
          expect(lines[1]).toContain('"GET /no/such/page HTTP/2.0" 404');
        } else {
          const first = JSON.parse(lines[0]!) as Record<string, unknown>;
          expect(first).toMatchObject({ method: 'GET', path: '/about.html', status: 200, protocol: 'HTTP/2.0', host: 'localhost', user_agent: 'h2-test' });
        }
      } finally {
        session.close();
        expect(await srv.stop()).toBe(0);
      }
    }
  });
});

describe.skipIf(skip !== undefined)('HTTP/2 and request-only fields named by _headers (RFC 9113 section 8.2.2)', () => {
  it('a rule naming TE or HTTP2-Settings leaves them out of HTTP/2 responses (node refuses them) instead of making every response a 500', async () => {
    const site = writeTree(tmpDir('h2-te-site-'), { 'index.html': 'hi\n', _headers: '/*\n  TE: gzip\n  HTTP2-Settings: x\n  X-Kept: yes\n' });
    const file = path.join(tmpDir('h2-te-'), 'site.webroot');
    await packDirectory(site, file);
    const vhosts = tmpDir('h2-te-vhosts-');
    fs.symlinkSync(file, path.join(vhosts, '__default__'));
    const srv = await startHttpd(vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs]);
    const session = await h2Connect(srv.tlsPort!);
    try {
      const r = await h2Request(session, 'GET', '/index.html');
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('hi\n');
      expect(r.headers['x-kept']).toBe('yes');
      expect(r.headers).not.toHaveProperty('te');
      expect(r.headers).not.toHaveProperty('http2-settings');
    } finally {
      session.close();
      expect(await srv.stop()).toBe(0);
    }
  });
});

describe.skipIf(skip !== undefined)('HTTP/2 and a swap (DESIGN.md: each stream holds its webroot)', () => {
  it('streams in flight finish on the old webroot; new streams on the same session see the new one', async () => {
    const v1 = noise(4 * 1024 * 1024, 1);
    const v2 = noise(4 * 1024 * 1024, 2);
    const dir = tmpDir('h2-swap-');
    const files: string[] = [];
    for (const [i, bytes] of [v1, v2].entries()) {
      files.push(path.join(dir, `v${i + 1}.webroot`));
      await packDirectory(writeTree(tmpDir('h2-site-'), { 'big.bin': bytes }), files[i]!);
    }
    const vhosts = tmpDir('h2-vhosts-');
    fs.symlinkSync(files[0]!, path.join(vhosts, '__default__'));
    const srv = await startHttpd(vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs]);
    const session = await h2Connect(srv.tlsPort!);
    try {
      // Started on v1 and held back by flow control: the client reads the first chunk only.
      const old = session.request({ ':path': '/big.bin', ':authority': 'localhost' });
      const chunks: Buffer[] = [];
      await new Promise<void>((r) => old.once('data', (c: Buffer) => (chunks.push(c), old.pause(), r())));
      const tmp = path.join(vhosts, '.next');
      fs.symlinkSync(files[1]!, tmp);
      fs.renameSync(tmp, path.join(vhosts, '__default__'));
      await srv.waitForLog((l) => l.event === 'vhost-swapped');
      const fresh = await h2Request(session, 'GET', '/big.bin');
      expect(fresh.body.equals(v2)).toBe(true);
      const rest = new Promise<void>((resolve, reject) => {
        old.on('data', (c: Buffer) => chunks.push(c));
        old.on('end', () => resolve());
        old.on('error', reject);
      });
      old.resume();
      await rest;
      expect(Buffer.concat(chunks).equals(v1)).toBe(true);
    } finally {
      session.close();
      expect(await srv.stop()).toBe(0);
    }
  });
});

// --keepalive-timeout for HTTP/2: a session with no open stream is closed (GOAWAY) after it, as an idle
// keep-alive connection is; a stream in flight keeps its session (h2/session-idle.ts, which replaced
// node:http2's per-session timer for its per-stream cost).
describe.skipIf(skip !== undefined)('HTTP/2 idle sessions', () => {
  it('a session idle for --keepalive-timeout 1 gets GOAWAY and closes; one whose stream is held by flow control past it keeps going', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs, '--keepalive-timeout', '1']);
    const idle = await h2Connect(srv.tlsPort!);
    const busy = await h2Connect(srv.tlsPort!);
    try {
      expect((await h2Request(idle, 'GET', '/about.html')).status).toBe(200);
      const started = performance.now();
      const idleClosed = new Promise<number>((resolve) => idle.once('close', () => resolve(performance.now() - started)));
      // Held back: the client reads the first chunk only, then nothing for longer than the idle timeout.
      const held = busy.request({ ':path': '/big.bin', ':authority': 'localhost' }, { endStream: true });
      const chunks: Buffer[] = [];
      await new Promise<void>((r) => held.once('data', (c: Buffer) => (chunks.push(c), held.pause(), r())));
      let busyGoaway = false;
      busy.once('goaway', () => (busyGoaway = true));
      const closedAfter = await Promise.race([idleClosed, new Promise<number>((r) => setTimeout(() => r(Infinity), 6_000))]);
      expect(closedAfter).toBeLessThan(4_000);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(busyGoaway).toBe(false);
      const rest = new Promise<void>((resolve, reject) => {
        held.on('data', (c: Buffer) => chunks.push(c));
        held.on('end', () => resolve());
        held.on('error', reject);
      });
      held.resume();
      await rest;
      expect(Buffer.concat(chunks).equals(fx.files['/big.bin']!)).toBe(true);
      // Its stream done, that session is idle in turn.
      const busyClosed = await Promise.race([new Promise<boolean>((r) => busy.once('close', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 4_000))]);
      expect(busyClosed).toBe(true);
    } finally {
      idle.destroy();
      busy.destroy();
      expect(await srv.stop()).toBe(0);
    }
  });
});
