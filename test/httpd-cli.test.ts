import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { rssBytes } from './helpers/proc.js';
import { parseResponses, raw, rawRequests } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { makeFixture, singleSiteVhosts, type Fixture } from './helpers/site.js';
import { noise, tmpDir } from './helpers/tmp.js';

const httpd = (args: string[]) => runNode(HTTPD_BIN, args, { timeoutMs: 15_000 });

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

describe('httpd command line', () => {
  it('--help documents every option', async () => {
    const r = await httpd(['--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--io', '--port', '--host', '--workers', '--cache-size', '--cache-control', '--autoindex', '--log-level', '--access-log', '--rescan-interval', '--no-watch', '--header-timeout', '--keepalive-timeout', '--send-timeout', '--drain-timeout']) {
      expect(r.stdout).toContain(opt);
    }
    expect(r.stdout).toMatch(/Usage: httpd \[options\] <VHOSTS_DIR> \[IO\]/);
  });

  it.each([
    [['--io', 'fast'], /option '--io <mode>' argument 'fast' is invalid/],
    [['--port', '99999'], /--port must be a whole number from 0 to 65535/],
    [['--port', 'http'], /--port must be a whole number/],
    [['--workers', '-1'], /--workers must be a whole number/],
    [['--cache-size', '12Q'], /expected a size like/],
    [['--log-level', 'loud'], /argument 'loud' is invalid/],
    [['--header-timeout', '0'], /--header-timeout must be a number of seconds greater than 0/],
    [['--bogus'], /unknown option '--bogus'/],
    [['turbo'], /unknown IO mode 'turbo'; choose one of: sync, stream, async/],
    [['sync', '--io', 'async'], /IO mode given twice/],
  ])('bad option %j: one clear error line, non-zero exit', async (args, message) => {
    const r = await httpd([fx.vhosts, ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing VHOSTS_DIR, or a file given as VHOSTS_DIR, is one clear error', async () => {
    const missing = await httpd([path.join(tmpDir(), 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^httpd: .*nope: no such directory; give the directory of vhost entries/);
    const file = await httpd([fx.webroots.default]);
    expect(file.code).toBe(2);
    expect(file.stderr.trim()).toMatch(/^httpd: .*default\.webroot: not a directory/);
  });

  it('a port in use is one clear error and a non-zero exit', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      for (const workers of ['0', '2']) {
        const r = await httpd([fx.vhosts, '--port', String(port), '--host', '127.0.0.1', '--workers', workers]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`httpd: cannot listen on 127.0.0.1:${port}: address already in use; stop the other server or choose another --port`);
      }
    } finally {
      blocker.close();
    }
  });

  it('start-up says where it listens, the IO mode, and each vhost loaded or refused', async () => {
    const vhosts = tmpDir('vhosts-');
    fs.symlinkSync(fx.webroots.default, path.join(vhosts, '__default__'));
    fs.writeFileSync(path.join(vhosts, 'broken.test'), 'not a webroot');
    const srv = await startHttpd(vhosts, ['stream', '--workers', '1']); // classic positional IO mode
    try {
      const listening = srv.logs.find((l) => l.event === 'listening')!;
      expect(listening).toMatchObject({ level: 'info', io: 'stream', url: `http://127.0.0.1:${srv.port}/`, workers: 1 });
      await srv.waitForLog((l) => l.event === 'vhost-loaded' && l.vhost === '__default__');
      const refused = await srv.waitForLog((l) => l.event === 'vhost-refused');
      expect(refused).toMatchObject({ vhost: 'broken.test', code: 'WEBROOT_BAD_MAGIC', level: 'error' });
      expect(String(refused.error)).toContain('not a webroot file');
      // the others keep serving; the refused host is unavailable, never the default's content (issue 9 item 7)
      expect((await raw(srv.port, 'GET', '/about.html', {}, 'broken.test')).status).toBe(503);
      expect((await raw(srv.port, 'GET', '/about.html', {}, 'other.test')).status).toBe(200);
      for (const l of srv.logs) expect(l).toMatchObject({ level: expect.any(String), time: expect.any(String), worker: expect.any(Number), event: expect.any(String) });
    } finally {
      await srv.stop();
    }
  });

  it('an unknown host with no __default__ is a 404 that reveals nothing', async () => {
    const vhosts = tmpDir('vhosts-');
    fs.symlinkSync(fx.webroots.example, path.join(vhosts, 'example.com'));
    const srv = await startHttpd(vhosts, ['--workers', '0']);
    try {
      const r = await raw(srv.port, 'GET', '/', {}, 'other.test');
      expect(r.status).toBe(404);
      expect(r.body.toString()).toBe('404 Not Found\n');
      expect(r.headers.server).toBe('webroot');
    } finally {
      await srv.stop();
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s drains: a response in flight finishes, then exit 0', async (signal) => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--cache-size', '0']);
    const socket = net.connect(srv.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause(); // hold the response in flight
    await new Promise((r) => setTimeout(r, 300));
    const exit = srv.stop(signal);
    await new Promise((r) => setTimeout(r, 300));
    socket.resume();
    const ended = new Promise((r) => socket.on('close', r));
    expect(await exit).toBe(0);
    await ended;
    const [res] = parseResponses(Buffer.concat(chunks));
    expect(res!.status).toBe(200);
    expect(res!.body.equals(fx.files['/big.bin']!)).toBe(true);
    await expect(raw(srv.port, 'GET', '/')).rejects.toThrow(); // no longer accepting
  });
});

describe('optional features', () => {
  it('--autoindex lists a directory without index.html, with escaped names', async () => {
    const { vhosts } = await singleSiteVhosts({ 'pub/a.txt': 'a', 'pub/<b>&.txt': 'b', 'pub/sub/c.txt': 'c' });
    const srv = await startHttpd(vhosts, ['--workers', '0', '--autoindex']);
    try {
      const r = await raw(srv.port, 'GET', '/pub/');
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      const html = r.body.toString();
      expect(html).toContain('<title>Index of /pub/</title>');
      expect(html).toContain('<a href="a.txt">a.txt</a>');
      expect(html).toContain('<a href="sub/">sub/</a>');
      expect(html).toContain('&lt;b&gt;&amp;.txt');
      expect(html).not.toContain('<b>&');
    } finally {
      await srv.stop();
    }
  });

  it('--access-log writes the combined log format', async () => {
    const log = path.join(tmpDir(), 'access.log');
    const srv = await startHttpd(fx.vhosts, ['--workers', '0', '--access-log', log]);
    try {
      await raw(srv.port, 'GET', '/about.html?x=1', { 'User-Agent': 'test-agent/1.0', Referer: 'http://ref.test/' });
      await raw(srv.port, 'GET', '/nope');
    } finally {
      await srv.stop();
    }
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/about\.html\?x=1 HTTP\/1\.1" 200 \d+ "http:\/\/ref\.test\/" "test-agent\/1\.0"$/);
    expect(lines[1]).toMatch(/"GET \/nope HTTP\/1\.1" 404 \d+ "-" "-"$/);
  });

  it('--cache-control sets the header; the object cache serves repeated and ranged requests', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '0', '--cache-control', 'public, max-age=60']);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await raw(srv.port, 'GET', '/about.html');
        expect(r.headers['cache-control']).toBe('public, max-age=60');
        expect(r.body.equals(fx.files['/about.html']!)).toBe(true);
      }
      const part = await raw(srv.port, 'GET', '/about.html', { Range: 'bytes=5-9' });
      expect(part.body.equals(fx.files['/about.html']!.subarray(5, 10))).toBe(true);
      const rs = await rawRequests(srv.port, 'GET /c++.html HTTP/1.1\r\nHost: x\r\n\r\nGET /c++.html HTTP/1.1\r\nHost: x\r\n\r\n', 2);
      expect(rs.map((r) => r.body.toString())).toEqual(['plus plus\n', 'plus plus\n']);
    } finally {
      await srv.stop();
    }
  });
});

describe.each(['sync', 'stream', 'async'] as const)('a 20 MB response to a slow reader (--io %s)', (io) => {
  const huge = noise(20 * 1024 * 1024, 3);
  let vhosts: string;
  beforeAll(async () => {
    ({ vhosts } = await singleSiteVhosts({ 'huge.bin': huge }));
  });

  it('never buffers the whole body in memory, and delivers every byte', async () => {
    const srv = await startHttpd(vhosts, ['--io', io, '--workers', '1']);
    try {
      const worker = await srv.waitForLog((l) => l.event === 'vhost-loaded');
      const pid = worker.pid as number;
      await raw(srv.port, 'GET', '/huge.bin', { Range: 'bytes=0-0' }); // warm up code paths
      const before = rssBytes(pid);
      const socket = net.connect(srv.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      socket.pause();
      await new Promise((r) => setTimeout(r, 1500));
      const during = rssBytes(pid);
      const hash = crypto.createHash('sha256');
      let total = 0;
      let headSkipped = false;
      let pending = Buffer.alloc(0);
      socket.on('data', (c: Buffer) => {
        if (!headSkipped) {
          pending = Buffer.concat([pending, c]);
          const end = pending.indexOf('\r\n\r\n');
          if (end === -1) return;
          headSkipped = true;
          c = pending.subarray(end + 4);
        }
        hash.update(c);
        total += c.length;
      });
      socket.resume();
      await new Promise((r) => socket.on('close', r));
      expect(total).toBe(huge.length);
      expect(hash.digest().equals(crypto.createHash('sha256').update(huge).digest())).toBe(true);
      // The whole body would be 20 MiB; what is held is the socket's queue plus a chunk or two.
      expect(during - before).toBeLessThan(10 * 1024 * 1024);
    } finally {
      await srv.stop();
    }
  });
});

describe.each([false, true])('a client that pipelines requests and reads nothing (portable sockets: %s)', (portable) => {
  // Under SMALL_BODY: head and body are one new buffer per response (the object cache is off; with it, a
  // keep-alive GET is one shared prebuilt buffer, and queueing it again costs nothing).
  const body = noise(60 * 1024, 5);
  const COUNT = 2000; // ~120 MiB of responses
  let vhosts: string;
  beforeAll(async () => {
    ({ vhosts } = await singleSiteVhosts({ 'sixty.bin': body }));
  });

  it('gets one response queued at a time, not all of them in memory, and then every response in order', async () => {
    const srv = await startHttpd(vhosts, ['--workers', '1', '--cache-size', '0'], portable ? { WEBROOT_PORTABLE_SOCKETS: '1' } : {});
    try {
      const worker = await srv.waitForLog((l) => l.event === 'vhost-loaded');
      const pid = worker.pid as number;
      const one = await raw(srv.port, 'GET', '/sixty.bin'); // warm up
      expect(one.body.equals(body)).toBe(true);
      const before = rssBytes(pid);
      const socket = net.connect(srv.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      socket.pause();
      const request = 'GET /sixty.bin HTTP/1.1\r\nHost: x\r\n\r\n';
      socket.write(request.repeat(COUNT - 1) + request.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
      await new Promise((r) => setTimeout(r, 1500));
      const during = rssBytes(pid);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.resume();
      await new Promise((r) => socket.on('close', r));
      const received = Buffer.concat(chunks);
      // Every response is complete and in order: status line, headers, the 60 KiB body, COUNT times.
      let at = 0;
      let n = 0;
      while (at < received.length) {
        const end = received.indexOf('\r\n\r\n', at);
        expect(end).toBeGreaterThan(at);
        expect(received.toString('latin1', at, at + 15)).toBe('HTTP/1.1 200 OK');
        const got = received.subarray(end + 4, end + 4 + body.length);
        if (n === 0 || n === COUNT - 1) expect(got.equals(body)).toBe(true);
        at = end + 4 + body.length;
        n++;
      }
      expect(n).toBe(COUNT);
      // All of them would be ~120 MiB; held are the kernel's socket buffers and a response or two.
      expect(during - before).toBeLessThan(30 * 1024 * 1024);
    } finally {
      await srv.stop();
    }
  }, 30_000);
});

describe.each([false, true])('running out of file descriptors (portable sockets: %s)', (portable) => {
  it('connections beyond the limit are closed (EMFILE), and the server goes on serving', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '0'], portable ? { WEBROOT_PORTABLE_SOCKETS: '1' } : {});
    const clients: net.Socket[] = [];
    try {
      expect((await srv.waitForLog((l) => l.event === 'listening')).fastSockets).toBe(!portable);
      const pid = srv.proc.pid!;
      const open = fs.readdirSync(`/proc/${pid}/fd`).length;
      // Room for a few connections more than the server holds now, then many more clients than that.
      execFileSync('python3', ['-c', `import resource; resource.prlimit(${pid}, resource.RLIMIT_NOFILE, (${open + 5}, ${open + 5}))`]);
      let refused = 0;
      for (let i = 0; i < 30; i++) {
        const c = net.connect(srv.port, '127.0.0.1');
        c.on('error', () => {});
        c.on('close', () => refused++);
        clients.push(c);
      }
      // libuv accepts and closes what it cannot keep (its EMFILE reserve descriptor); were the error to reach
      // the server, it would log accept-failed and go on.
      for (let i = 0; i < 300 && refused === 0; i++) await new Promise((r) => setTimeout(r, 20)); // bounded: 6 s on a loaded machine
      expect(refused).toBeGreaterThan(0);
      for (const c of clients) c.destroy();
      clients.length = 0;
      // The descriptors come back as those connections close; then requests are served again.
      let r: Awaited<ReturnType<typeof raw>> | undefined;
      for (let i = 0; i < 50 && r === undefined; i++) {
        r = await raw(srv.port, 'GET', '/about.html').catch(() => undefined);
        if (r === undefined) await new Promise((res) => setTimeout(res, 100));
      }
      expect(r?.status).toBe(200);
      expect(srv.proc.exitCode).toBe(null);
      expect(srv.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      for (const c of clients) c.destroy();
      await srv.stop();
    }
  });
});
