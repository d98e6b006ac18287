import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWebroot, type FileEntry } from '@webroot/format';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { connectTo, KeepAliveClient, parseResponses, raw, rawExchange, rawRequests, type Endpoint, type RawResponse } from './helpers/raw.js';
import { tmpDir } from './helpers/tmp.js';
import { MTIME, makeFixture, type Fixture } from './helpers/site.js';

const LAST_MODIFIED = new Date(MTIME * 1000).toUTCString();
const COMMON_200 = ['date', 'content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'accept-ranges', 'x-content-type-options', 'server'];

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

function expectCommon(r: RawResponse) {
  expect(r.headers.server).toBe('webroot'); // no version
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(Number.isNaN(Date.parse(r.headers.date!))).toBe(false);
  expect(r.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
}

function entryOf(path: string): FileEntry {
  const w = openWebroot(fx.webroots.default);
  try {
    return w.lookup(path) as FileEntry;
  } finally {
    w.close();
  }
}

// --cache-size 0: every body comes through each mode's executor. The object-cache runs
// are the default configuration, where small bodies come from memory and plain GETs
// of them are prebuilt whole responses. Connections run on their accepted libuv handles
// (server/handle-wire.ts: no net.Socket unless a large body or a route needs a stream);
// with WEBROOT_SOCKET_OBJECTS=1 on net.Socket objects that read into one shared buffer
// and write to their handles directly (server/fast-socket.ts); with
// WEBROOT_PORTABLE_SOCKETS=1 through net.Socket's streams only, the fallback when Node's
// internals are not what those files expect. The HTTPS/1.1 runs send every request over TLS to
// --tls-port (the same Connection code; a certificate generated for the run).
const HTTPS_SKIP = opensslMissing !== undefined;
if (HTTPS_SKIP) console.log(`httpd.test.ts: the HTTPS/1.1 configurations are skipped: ${opensslMissing}`);
describe.each(([
  { name: 'sync', io: 'sync', cache: '0', portable: false, objects: false, https: false },
  { name: 'stream', io: 'stream', cache: '0', portable: false, objects: false, https: false },
  { name: 'async, portable writes', io: 'async', cache: '0', portable: true, objects: false, https: false },
  { name: 'sync with the object cache', io: 'sync', cache: '32M', portable: false, objects: false, https: false },
  { name: 'sync with the object cache, portable writes', io: 'sync', cache: '32M', portable: true, objects: false, https: false },
  { name: 'async with the object cache, on net.Socket objects', io: 'async', cache: '32M', portable: false, objects: true, https: false },
  { name: 'sync with the object cache over HTTPS/1.1', io: 'sync', cache: '32M', portable: false, objects: false, https: true },
  { name: 'stream over HTTPS/1.1, portable writes', io: 'stream', cache: '0', portable: true, objects: false, https: true },
] as const).filter((c) => !(c.https && HTTPS_SKIP)))('httpd --io $name', ({ io, cache, portable, objects, https }) => {
  let srv: RunningHttpd;
  let port: Endpoint;
  beforeAll(async () => {
    const tlsArgs: string[] = [];
    if (https) {
      const certs = tmpDir('certs-');
      makeCert(certs, '__default__', { cn: 'localhost' });
      tlsArgs.push('--tls-port', '0', '--certs', certs);
    }
    srv = await startHttpd(fx.vhosts, ['--io', io, '--workers', '1', '--cache-size', cache, '--header-timeout', '1', '--keepalive-timeout', '4', ...tlsArgs], portable ? { WEBROOT_PORTABLE_SOCKETS: '1' } : objects ? { WEBROOT_SOCKET_OBJECTS: '1' } : {});
    // The Node versions we support have the internals the fast paths use: losing them must show here.
    const listening = await srv.waitForLog((l) => l.event === 'listening');
    expect(listening.fastSockets).toBe(!portable);
    expect(listening.ownHandles).toBe(!portable && !objects);
    port = https ? { port: srv.tlsPort!, tls: true } : srv.port;
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  describe('responses and their headers (RFC 9110)', () => {
    it('GET / serves index.html with every standard header', async () => {
      const r = await raw(port, 'GET', '/');
      expect(r.status).toBe(200);
      expect(r.body.equals(fx.files['/index.html']!)).toBe(true);
      for (const h of COMMON_200) expect(r.headers, h).toHaveProperty(h);
      expectCommon(r);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['content-length']).toBe(String(fx.files['/index.html']!.length));
      expect(r.headers.etag).toBe(entryOf('/index.html').object.etag);
      expect(r.headers.etag).toMatch(/^"[\w-]{22}"$/); // strong
      expect(r.headers['last-modified']).toBe(LAST_MODIFIED);
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['accept-ranges']).toBe('bytes');
      expect(r.headers.vary).toBe('Accept-Encoding');
      expect(r.headers).not.toHaveProperty('content-encoding');
    });

    it('a file without variants has no Vary', async () => {
      const r = await raw(port, 'GET', '/big.bin');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(r.headers).not.toHaveProperty('vary');
      expect(r.body.equals(fx.files['/big.bin']!)).toBe(true); // 3 MiB: the chunked, backpressured path
    });

    it('a client that disconnects mid-body does not disturb later responses', async () => {
      for (let i = 0; i < 3; i++) {
        const socket = connectTo(port);
        socket.on('error', () => {});
        await new Promise((r) => socket.once('connect', r));
        socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
        await new Promise((r) => socket.once('data', r));
        socket.destroy();
      }
      await new Promise((r) => setTimeout(r, 100));
      expect((await raw(port, 'GET', '/about.html')).body.equals(fx.files['/about.html']!)).toBe(true);
      expect((await raw(port, 'GET', '/big.bin')).body.equals(fx.files['/big.bin']!)).toBe(true);
    });

    it('HEAD gives exactly the GET headers and no body (RFC 9110 section 9.3.2)', async () => {
      const get = await raw(port, 'GET', '/about.html');
      const { data, closed } = await rawExchange(port, 'HEAD /about.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(closed).toBe(true);
      const text = data.toString('latin1');
      expect(text.endsWith('\r\n\r\n')).toBe(true); // nothing after the head
      const [head] = parseResponses(data, [true]);
      const strip = (h: Record<string, string>) => ({ ...h, date: undefined });
      expect(strip(head!.headers)).toEqual(strip(get.headers));
      expect(head!.status).toBe(200);
    });

    it('an empty file is 200 with Content-Length: 0', async () => {
      const r = await raw(port, 'GET', '/empty.txt');
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe('0');
      expect(r.body.length).toBe(0);
    });

    it('OPTIONS answers 204 with Allow, for a path and for *', async () => {
      for (const target of ['/', '*']) {
        const r = await raw(port, 'OPTIONS', target);
        expect(r.status).toBe(204);
        expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
        expect(r.body.length).toBe(0);
      }
    });

    it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'FOO'])('%s gets 405 with Allow (RFC 9110 section 15.5.6)', async (method) => {
      const r = await raw(port, method, '/index.html');
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
      expectCommon(r);
    });

    it('CONNECT (authority-form target) gets 405 with Allow', async () => {
      const { data } = await rawExchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n');
      const [r] = parseResponses(data);
      expect(r!.status).toBe(405);
      expect(r!.headers.allow).toBe('GET, HEAD, OPTIONS');
    });

    it('a small request body is skipped and the connection stays usable', async () => {
      const rs = await rawRequests(port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /about.html HTTP/1.1\r\nHost: x\r\n\r\n', 2);
      expect(rs.map((r) => r.status)).toEqual([405, 200]);
    });
  });

  describe('conditional requests (RFC 9110 section 13)', () => {
    const etag = () => entryOf('/about.html').object.etag;

    it('If-None-Match with the current ETag gives 304 with the caching headers of the 200 and no body (13.1.2, 15.4.5)', async () => {
      const { data } = await rawExchange(port, `GET /index.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${entryOf('/index.html').object.etag}\r\nConnection: close\r\n\r\n`);
      const [r] = parseResponses(data);
      expect(r!.status).toBe(304);
      expect(data.toString('latin1').endsWith('\r\n\r\n')).toBe(true);
      expect(r!.headers.etag).toBe(entryOf('/index.html').object.etag);
      expect(r!.headers['cache-control']).toBe('no-cache');
      expect(r!.headers.vary).toBe('Accept-Encoding');
      expect(r!.headers['last-modified']).toBe(LAST_MODIFIED);
      expectCommon(r!);
      expect(r!.headers).not.toHaveProperty('content-type');
      expect(r!.headers).not.toHaveProperty('content-length');
    });

    it.each([
      ['If-None-Match weak comparison', { 'If-None-Match': 'W/%E' }, 304],
      ['If-None-Match list', { 'If-None-Match': '"nope", %E' }, 304],
      ['If-None-Match *', { 'If-None-Match': '*' }, 304],
      ['If-None-Match other', { 'If-None-Match': '"nope"' }, 200],
      ['If-Match current', { 'If-Match': '%E' }, 200],
      ['If-Match *', { 'If-Match': '*' }, 200],
      ['If-Match weak (strong comparison)', { 'If-Match': 'W/%E' }, 412],
      ['If-Match other', { 'If-Match': '"nope"' }, 412],
      ['If-Unmodified-Since before', { 'If-Unmodified-Since': new Date((MTIME - 60) * 1000).toUTCString() }, 412],
      ['If-Unmodified-Since at', { 'If-Unmodified-Since': LAST_MODIFIED }, 200],
      ['If-Unmodified-Since invalid', { 'If-Unmodified-Since': 'garbage' }, 200],
      ['If-Modified-Since at', { 'If-Modified-Since': LAST_MODIFIED }, 304],
      ['If-Modified-Since before', { 'If-Modified-Since': new Date((MTIME - 60) * 1000).toUTCString() }, 200],
      ['If-Modified-Since invalid', { 'If-Modified-Since': 'yesterday' }, 200],
      ['If-Modified-Since ignored with If-None-Match', { 'If-None-Match': '"nope"', 'If-Modified-Since': LAST_MODIFIED }, 200],
      ['If-Match failure before If-None-Match', { 'If-Match': '"nope"', 'If-None-Match': '%E' }, 412],
    ])('%s -> %i (13.2.2 order)', async (_name, headers, status) => {
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('%E', etag())]));
      const r = await raw(port, 'GET', '/about.html', h);
      expect(r.status).toBe(status);
      if (status === 412) expect(r.headers).not.toHaveProperty('etag');
    });

    it('HEAD with If-None-Match gives 304', async () => {
      const r = await raw(port, 'HEAD', '/about.html', { 'If-None-Match': etag() });
      expect(r.status).toBe(304);
    });

    it('preconditions do not apply to a 404 (13.2.1)', async () => {
      expect((await raw(port, 'GET', '/missing', { 'If-Match': '"x"' })).status).toBe(404);
    });
  });

  describe('ranges (RFC 9110 section 14)', () => {
    const big = () => fx.files['/big.bin']!;

    it('a single range gives 206 with Content-Range and exactly those bytes', async () => {
      const r = await raw(port, 'GET', '/big.bin', { Range: 'bytes=100-199' });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes 100-199/${big().length}`);
      expect(r.headers['content-length']).toBe('100');
      expect(r.body.equals(big().subarray(100, 200))).toBe(true);
      expect(r.headers.etag).toBe(entryOf('/big.bin').object.etag);
    });

    it('suffix and open-ended ranges', async () => {
      const s = await raw(port, 'GET', '/big.bin', { Range: 'bytes=-10' });
      expect(s.headers['content-range']).toBe(`bytes ${big().length - 10}-${big().length - 1}/${big().length}`);
      expect(s.body.equals(big().subarray(-10))).toBe(true);
      const o = await raw(port, 'GET', '/big.bin', { Range: `bytes=${big().length - 100000}-` });
      expect(o.status).toBe(206);
      expect(o.body.equals(big().subarray(big().length - 100000))).toBe(true); // > 64 KiB: the pump path
    });

    it('several ranges give multipart/byteranges with one part each (14.6)', async () => {
      const r = await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9, 1000-1009, 200000-299999' });
      expect(r.status).toBe(206);
      const m = /^multipart\/byteranges; boundary=(\S+)$/.exec(r.headers['content-type']!);
      expect(m).not.toBeNull();
      expect(r.headers).not.toHaveProperty('content-range');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      const parts = r.body.toString('latin1').split(`--${m![1]}`);
      expect(parts[0]).toBe('');
      expect(parts.at(-1)).toBe('--\r\n');
      const bodies = parts.slice(1, -1).map((p) => {
        const [head, ...rest] = p.split('\r\n\r\n');
        return { head, body: Buffer.from(rest.join('\r\n\r\n').replace(/\r\n$/, ''), 'latin1') };
      });
      expect(bodies).toHaveLength(3);
      expect(bodies[0]!.head).toContain(`Content-Range: bytes 0-9/${big().length}`);
      expect(bodies[0]!.head).toContain('Content-Type: application/octet-stream');
      expect(bodies[0]!.body.equals(big().subarray(0, 10))).toBe(true);
      expect(bodies[1]!.body.equals(big().subarray(1000, 1010))).toBe(true);
      expect(bodies[2]!.body.equals(big().subarray(200000, 300000))).toBe(true);
    });

    it('overlapping ranges are coalesced, never amplified (14.2)', async () => {
      const header = `bytes=${Array.from({ length: 20 }, () => '0-99999').join(',')}`;
      const r = await raw(port, 'GET', '/big.bin', { Range: header });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes 0-99999/${big().length}`);
      expect(r.body.length).toBe(100000);
    });

    it('an unsatisfiable range gives 416 with Content-Range: bytes */length and no Content-Encoding (15.5.17)', async () => {
      const r = await raw(port, 'GET', '/index.html', { Range: 'bytes=999999-', 'Accept-Encoding': 'br' });
      expect(r.status).toBe(416);
      const br = entryOf('/index.html').variants.find((v) => v.encoding === 'br')!.object;
      expect(r.headers['content-range']).toBe(`bytes */${br.length}`); // the selected representation's length
      expect(r.headers).not.toHaveProperty('content-encoding');
      expect(r.headers.vary).toBe('Accept-Encoding');
      const empty = await raw(port, 'GET', '/empty.txt', { Range: 'bytes=0-' });
      expect(empty.status).toBe(416);
      expect(empty.headers['content-range']).toBe('bytes */0');
    });

    it.each([['bytes=5-1'], ['bytes=abc'], ['items=0-1'], ['bytes']])('an invalid or non-bytes Range %j is ignored: 200', async (range) => {
      const r = await raw(port, 'GET', '/about.html', { Range: range });
      expect(r.status).toBe(200);
      expect(r.headers).not.toHaveProperty('content-range');
    });

    it('HEAD ignores Range (14.2: range handling is defined for GET only)', async () => {
      const r = await raw(port, 'HEAD', '/big.bin', { Range: 'bytes=0-9' });
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(big().length));
    });

    it('If-Range with the current ETag or Last-Modified honours the Range; a stale one gets the full 200 (13.1.5)', async () => {
      const etag = entryOf('/big.bin').object.etag;
      expect((await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9', 'If-Range': etag })).status).toBe(206);
      expect((await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9', 'If-Range': LAST_MODIFIED })).status).toBe(206);
      const stale = await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9', 'If-Range': '"stale"' });
      expect(stale.status).toBe(200);
      expect(stale.body.length).toBe(big().length);
      expect((await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9', 'If-Range': `W/${etag}` })).status).toBe(200);
      expect((await raw(port, 'GET', '/big.bin', { Range: 'bytes=0-9', 'If-Range': new Date((MTIME - 5) * 1000).toUTCString() })).status).toBe(200);
    });

    it('ranges apply to the selected (compressed) representation', async () => {
      const br = entryOf('/big.txt').variants.find((v) => v.encoding === 'br')!.object;
      const whole = await raw(port, 'GET', '/big.txt', { 'Accept-Encoding': 'br' });
      const r = await raw(port, 'GET', '/big.txt', { 'Accept-Encoding': 'br', Range: 'bytes=10-19' });
      expect(r.status).toBe(206);
      expect(r.headers['content-encoding']).toBe('br');
      expect(r.headers['content-range']).toBe(`bytes 10-19/${br.length}`);
      expect(r.headers.etag).toBe(br.etag);
      expect(r.body.equals(whole.body.subarray(10, 20))).toBe(true);
    });
  });

  describe('content negotiation (RFC 9110 section 12.5.3)', () => {
    it('br, gzip and identity each have their own ETag and the right bytes', async () => {
      const entry = entryOf('/index.html');
      const br = await raw(port, 'GET', '/index.html', { 'Accept-Encoding': 'gzip, deflate, br' });
      expect(br.headers['content-encoding']).toBe('br');
      expect(br.headers.etag).toBe(entry.variants.find((v) => v.encoding === 'br')!.object.etag);
      expect(zlib.brotliDecompressSync(br.body).equals(fx.files['/index.html']!)).toBe(true);
      const gz = await raw(port, 'GET', '/index.html', { 'Accept-Encoding': 'br;q=0, gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(zlib.gunzipSync(gz.body).equals(fx.files['/index.html']!)).toBe(true);
      expect(new Set([br.headers.etag, gz.headers.etag, entry.object.etag]).size).toBe(3);
      for (const r of [br, gz]) expect(r.headers.vary).toBe('Accept-Encoding');
    });

    it('a 304 matches the ETag of the negotiated variant only', async () => {
      const brTag = entryOf('/index.html').variants.find((v) => v.encoding === 'br')!.object.etag;
      expect((await raw(port, 'GET', '/index.html', { 'Accept-Encoding': 'br', 'If-None-Match': brTag })).status).toBe(304);
      expect((await raw(port, 'GET', '/index.html', { 'If-None-Match': brTag })).status).toBe(200);
    });

    it('identity;q=0 and *;q=0 leave nothing acceptable: 406 with Vary', async () => {
      const r = await raw(port, 'GET', '/index.html', { 'Accept-Encoding': 'identity;q=0, *;q=0' });
      expect(r.status).toBe(406);
      expect(r.headers.vary).toBe('Accept-Encoding');
    });

    it('HEAD carries Vary and Content-Encoding like GET', async () => {
      const r = await raw(port, 'HEAD', '/index.html', { 'Accept-Encoding': 'gzip' });
      expect(r.headers['content-encoding']).toBe('gzip');
      expect(r.headers.vary).toBe('Accept-Encoding');
    });
  });

  describe('paths', () => {
    it('/dir redirects to /dir/ keeping the query; /dir/ serves dir/index.html', async () => {
      const r = await raw(port, 'GET', '/docs?x=1&y=2');
      expect(r.status).toBe(301);
      expect(r.headers.location).toBe('/docs/?x=1&y=2');
      const idx = await raw(port, 'GET', '/docs/');
      expect(idx.status).toBe(200);
      expect(idx.body.toString()).toContain('Docs index.');
    });

    it('a missing path is 404 with the site\'s /404.html as body', async () => {
      const r = await raw(port, 'GET', '/no/such/page');
      expect(r.status).toBe(404);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body.equals(fx.files['/404.html']!)).toBe(true);
      expect(r.headers).not.toHaveProperty('etag');
      const head = await raw(port, 'HEAD', '/no/such/page');
      expect(head.status).toBe(404);
      expect(head.body.length).toBe(0);
    });

    it('a directory without index.html is 404 (no --autoindex); a file with a trailing slash is 404', async () => {
      expect((await raw(port, 'GET', '/files/')).status).toBe(404);
      expect((await raw(port, 'GET', '/about.html/')).status).toBe(404);
    });

    it('percent-decoding: %2B, spaces, UTF-8 names; the query does not affect lookup', async () => {
      expect((await raw(port, 'GET', '/c%2B%2B.html')).body.toString()).toBe('plus plus\n');
      expect((await raw(port, 'GET', '/c++.html')).body.toString()).toBe('plus plus\n');
      expect((await raw(port, 'GET', '/a%20b.html')).body.toString()).toBe('with a space\n');
      expect((await raw(port, 'GET', '/caf%C3%A9.html')).body.toString()).toBe('non-ascii name\n');
      expect((await raw(port, 'GET', '/about.html?v=123')).status).toBe(200);
      expect((await raw(port, 'GET', '/docs/../about.html')).status).toBe(200);
      expect((await raw(port, 'GET', '//about.html')).status).toBe(200);
    });

    it.each(['/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/docs/..%2F..%2F..%2Fetc%2Fpasswd', '/index.html%00.txt', '/%C0%AF%C0%AFetc/passwd', '/%zz', '/a\x7fb'])(
      '%j is a 400 that never escapes the site',
      async (target) => {
        const { data, closed } = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect(parseResponses(data)[0]!.status).toBe(400);
        expect(closed).toBe(true);
      },
    );

    it('backslashes are ordinary characters: no file is named like that', async () => {
      const r = await raw(port, 'GET', '/..\\..\\etc\\passwd');
      expect(r.status).toBe(404);
    });
  });

  describe('virtual hosts', () => {
    it('chooses the site by Host, case-insensitively, ignoring the port and a trailing dot', async () => {
      for (const host of ['example.com', 'EXAMPLE.com:8080', 'example.com.']) {
        expect((await raw(port, 'GET', '/', {}, host)).body.toString()).toBe('<p>example.com home</p>\n');
      }
    });

    it('an unknown host gets __default__; absolute-form authority wins over Host', async () => {
      expect((await raw(port, 'GET', '/about.html', {}, 'unknown.test')).status).toBe(200);
      const { data } = await rawExchange(port, 'GET http://example.com/ HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n');
      expect(parseResponses(data)[0]!.body.toString()).toBe('<p>example.com home</p>\n');
    });

    it.each([
      ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n'],
      ['two Host fields', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
      ['an invalid Host', 'GET / HTTP/1.1\r\nHost: bad host\r\n\r\n'],
      ['a Host with a path', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n'],
    ])('%s is a 400 (RFC 9112 section 3.2)', async (_name, req) => {
      const { data, closed } = await rawExchange(port, req);
      expect(parseResponses(data)[0]!.status).toBe(400);
      expect(closed).toBe(true);
    });

    // The parser keeps the last field section it saw repeated and reuses its parse when the next head's bytes
    // are the same (parse-request.ts, FieldSectionMemo): a change of Host, of a validator or of Connection
    // on the same connection must still be what answers.
    it('repeated fields, then another Host, validator or Connection on one connection: each head answered as sent', async () => {
      const etag = (await raw(port, 'GET', '/', {}, 'example.com')).headers.etag!;
      const head = (host: string, extra = '') => `GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: t\r\n${extra}\r\n`;
      // Each change keeps the head's length, so only the bytes tell the heads apart.
      const otherTag = `${etag.slice(0, -2)}${etag.at(-2) === 'x' ? 'y' : 'x'}"`;
      const req = [
        head('example.com'),
        head('example.com'),
        head('example.com'),
        head('exampl3.com'), // no such site: __default__
        head('example.com', `If-None-Match: ${etag}\r\n`),
        head('example.com', `If-None-Match: ${etag}\r\n`),
        head('example.com', `If-None-Match: ${etag}\r\n`),
        head('example.com', `If-None-Match: ${otherTag}\r\n`),
        head('example.com', 'Connection: clos3\r\n'),
        head('example.com', 'Connection: clos3\r\n'),
        head('example.com', 'Connection: close\r\n'),
      ].join('');
      const rs = await rawRequests(port, req, 11, [false, false, false, false, true, true, true]);
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 304, 304, 304, 200, 200, 200, 200]);
      const example = '<p>example.com home</p>\n';
      expect(rs.map((r) => r.body.toString() === example)).toEqual([true, true, true, false, false, false, false, true, true, true, true]);
      expect(rs.map((r) => r.headers.connection)).toEqual([...Array(10).fill(undefined), 'close']);
    });

    it('HTTP/1.0 without Host gets the default site and a closed connection', async () => {
      const { data, closed } = await rawExchange(port, 'GET /about.html HTTP/1.0\r\n\r\n');
      const [r] = parseResponses(data);
      expect(r!.status).toBe(200);
      expect(r!.headers.connection).toBe('close');
      expect(closed).toBe(true);
    });
  });

  describe('HTTP/1.1 connections (RFC 9112 section 9)', () => {
    it('keeps the connection alive and answers pipelined requests in order', async () => {
      const req = ['/about.html', '/docs/guide.html', '/nope', '/c++.html'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
      const rs = await rawRequests(port, req, 4);
      expect(rs.map((r) => r.status)).toEqual([200, 200, 404, 200]);
      expect(rs[0]!.body.toString()).toContain('About.');
      expect(rs[1]!.body.toString()).toContain('Guide.');
      expect(rs[3]!.body.toString()).toBe('plus plus\n');
      expect(rs.every((r) => r.headers.connection === undefined)).toBe(true);
    });

    it('pipelined requests after a large body still come in order', async () => {
      const req = ['/big.bin', '/about.html'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('');
      const rs = await rawRequests(port, req, 2, [], 15_000);
      expect(rs[0]!.body.equals(fx.files['/big.bin']!)).toBe(true);
      expect(rs[1]!.body.toString()).toContain('About.');
    });

    it('HTTP/1.0 with Connection: keep-alive keeps the connection and says so (RFC 9112 Appendix C.2.2)', async () => {
      const rs = await rawRequests(port, 'GET /about.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /c++.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 2);
      expect(rs.map((r) => r.status)).toEqual([200, 200]);
      expect(rs[0]!.statusLine).toBe('HTTP/1.1 200 OK');
      expect(rs.map((r) => r.headers.connection)).toEqual(['keep-alive', 'keep-alive']);
      expect(rs[1]!.body.toString()).toBe('plus plus\n');
    });

    it('repeated keep-alive GETs give the same bytes and headers, each with the Date it was sent at (RFC 9110 section 6.6.1)', async () => {
      const c = new KeepAliveClient(port);
      try {
        const first = await c.request('GET', '/index.html');
        const again = await c.request('GET', '/index.html');
        // Wait into the next second: a response built earlier must not be sent with a stale Date.
        await new Promise((r) => setTimeout(r, 1001 - (Date.now() % 1000)));
        const later = await c.request('GET', '/index.html');
        for (const r of [first, again, later]) {
          expect(r.status).toBe(200);
          expect(r.body.equals(fx.files['/index.html']!)).toBe(true);
          for (const h of COMMON_200) expect(r.headers, h).toHaveProperty(h);
          expectCommon(r);
          const { date: _date, ...rest } = r.headers;
          const { date: _first, ...firstRest } = first.headers;
          expect(rest).toEqual(firstRest);
        }
        expect(Date.parse(later.headers.date!)).toBeGreaterThan(Date.parse(first.headers.date!));
        // Each representation of a negotiated file keeps its own bytes and headers.
        const br = await c.request('GET', '/index.html', { 'Accept-Encoding': 'br' });
        expect(br.headers['content-encoding']).toBe('br');
        expect(zlib.brotliDecompressSync(br.body).equals(fx.files['/index.html']!)).toBe(true);
        const br2 = await c.request('GET', '/index.html', { 'Accept-Encoding': 'br' });
        expect(br2.body.equals(br.body)).toBe(true);
        const plain = await c.request('GET', '/index.html');
        expect(plain.headers).not.toHaveProperty('content-encoding');
        expect(plain.body.equals(fx.files['/index.html']!)).toBe(true);
        // HEAD, a range and a 304 of the same file are not the whole 200.
        const head = await c.request('HEAD', '/index.html');
        expect(head.body.length).toBe(0);
        expect(head.headers['content-length']).toBe(String(fx.files['/index.html']!.length));
        const part = await c.request('GET', '/index.html', { Range: 'bytes=0-3' });
        expect(part.status).toBe(206);
        expect(part.body.equals(fx.files['/index.html']!.subarray(0, 4))).toBe(true);
        const cond = await c.request('GET', '/index.html', { 'If-None-Match': first.headers.etag! });
        expect(cond.status).toBe(304);
        expect(cond.body.length).toBe(0);
      } finally {
        c.close();
      }
    });

    it('a head split across reads survives other connections reading in between', async () => {
      const connect = async () => {
        const s = connectTo(port);
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r));
        return { s, data: () => Buffer.concat(chunks) };
      };
      const until = async (pred: () => boolean) => {
        for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
      };
      const a = await connect();
      const b = await connect();
      try {
        // A: one whole request, then half of the next; the half must be kept while B's reads come in.
        a.s.write('GET /about.html HTTP/1.1\r\nHost: x\r\n\r\nGET /c++.html HTTP/1.1\r\nHo');
        await until(() => parseResponses(a.data()).length === 1);
        for (let i = 0; i < 5; i++) {
          b.s.write(`GET /files/a.txt HTTP/1.1\r\nHost: ${'y'.repeat(40)}\r\nX-Filler: ${'z'.repeat(200)}\r\n\r\n`);
          await until(() => parseResponses(b.data()).length === i + 1);
        }
        a.s.write('st: x\r\n\r\n');
        await until(() => parseResponses(a.data()).length === 2);
        const ra = parseResponses(a.data());
        expect(ra.map((r) => r.status)).toEqual([200, 200]);
        expect(ra[1]!.body.toString()).toBe('plus plus\n');
        const rb = parseResponses(b.data());
        expect(rb).toHaveLength(5);
        expect(rb.every((r) => r.body.toString() === 'file a\n')).toBe(true);
      } finally {
        a.s.destroy();
        b.s.destroy();
      }
    });

    it('Connection: close is honoured', async () => {
      const { data, closed } = await rawExchange(port, 'GET /about.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /about.html HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(parseResponses(data)).toHaveLength(1);
      expect(parseResponses(data)[0]!.headers.connection).toBe('close');
      expect(closed).toBe(true);
    });

    it('431 for oversized headers, 414 for an oversized request-line, 505 for HTTP/2.0', async () => {
      const big = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
      expect(parseResponses(big.data)[0]!.status).toBe(431);
      expect(big.closed).toBe(true);
      const long = await rawExchange(port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(parseResponses(long.data)[0]!.status).toBe(414);
      const v2 = await rawExchange(port, 'GET / HTTP/2.0\r\nHost: x\r\n\r\n');
      expect(parseResponses(v2.data)[0]!.status).toBe(505);
    });

    it('Content-Length with Transfer-Encoding is a 400 and the connection closes (RFC 9112 section 6.3)', async () => {
      const { data, closed } = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const rs = parseResponses(data);
      expect(rs).toHaveLength(1);
      expect(rs[0]!.status).toBe(400);
      expect(closed).toBe(true);
    });

    it('malformed requests get 400 and the server keeps serving', async () => {
      for (const junk of ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n']) {
        const { data } = await rawExchange(port, Buffer.from(junk, 'latin1'));
        expect(parseResponses(data)[0]!.status).toBe(400);
      }
      expect((await raw(port, 'GET', '/about.html')).status).toBe(200);
    });

    it('a request head that stalls gets 408 after --header-timeout, and others are served meanwhile', async () => {
      const started = performance.now();
      const slow = rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 8000);
      expect((await raw(port, 'GET', '/about.html')).status).toBe(200);
      const { data, closed } = await slow;
      expect(parseResponses(data)[0]!.status).toBe(408);
      expect(closed).toBe(true);
      // cut at --header-timeout (1 s), well before --keepalive-timeout (4 s)
      expect(performance.now() - started).toBeLessThan(3500);
    });

    it('a slowloris trickling header bytes is cut off by the header deadline', async () => {
      const socket = connectTo(port);
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\n');
      const timer = setInterval(() => socket.writable && socket.write('X-a: b\r\n'), 300);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 6000))]);
      clearInterval(timer);
      expect(socket.destroyed || socket.readableEnded).toBe(true);
      expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('an idle keep-alive connection is closed after --keepalive-timeout', async () => {
      const started = performance.now();
      const { closed } = await rawExchange(port, '', 8000);
      expect(closed).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(3500);
      expect(performance.now() - started).toBeLessThan(7000);
    });
  });
});
