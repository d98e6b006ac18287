import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpd } from './helpers/httpd.js';
import { rssBytes } from './helpers/proc.js';
import { parseResponses, raw, rawExchange, rawRequests } from './helpers/raw.js';
import { makeFixture, singleSiteVhosts, type Fixture } from './helpers/site.js';
import { noise, tmpDir } from './helpers/tmp.js';

const FAULTS = { WEBROOT_FAULT_INJECTION: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

function workerPids(logs: Record<string, unknown>[]): number[] {
  return [...new Set(logs.filter((l) => l.event === 'vhost-loaded').map((l) => l.pid as number))];
}

describe('supervised workers', () => {
  it('a killed worker is replaced at once and the port keeps answering', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '2']);
    try {
      await srv.waitForLog(() => workerPids(srv.logs).length === 2);
      const [victim] = workerPids(srv.logs);
      let failures = 0;
      let ok = 0;
      let stop = false;
      const load = (async () => {
        while (!stop) {
          try {
            if ((await raw(srv.port, 'GET', '/about.html')).status === 200) ok++;
          } catch {
            failures++;
          }
        }
      })();
      await sleep(200);
      process.kill(victim!, 'SIGKILL');
      const died = await srv.waitForLog((l) => l.event === 'worker-died');
      expect(died).toMatchObject({ level: 'warn', signal: 'SIGKILL', pid: expect.any(Number) });
      await srv.waitForLog(() => workerPids(srv.logs).length === 3); // the replacement loaded the sites
      await sleep(300);
      stop = true;
      await load;
      expect(ok).toBeGreaterThan(50);
      // Only a request that was on the killed worker at that instant can fail.
      expect(failures).toBeLessThanOrEqual(1);
      expect((await raw(srv.port, 'GET', '/about.html')).status).toBe(200);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('the listening socket stays open while the only worker is replaced: a connection made meanwhile is answered', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1']);
    try {
      const [only] = workerPids(srv.logs);
      process.kill(only!, 'SIGKILL');
      await srv.waitForLog((l) => l.event === 'worker-died');
      // No worker is alive now (or the replacement is still starting): the kernel queues this connection.
      const r = await raw(srv.port, 'GET', '/about.html');
      expect(r.status).toBe(200);
      expect(workerPids(srv.logs)).toHaveLength(2);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('an exception while handling a request gives 500, is logged with the request, and the worker keeps serving', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1'], FAULTS);
    try {
      const rs = await rawRequests(srv.port, 'GET /__fault__/throw HTTP/1.1\r\nHost: x\r\n\r\nGET /about.html HTTP/1.1\r\nHost: x\r\n\r\n', 2);
      expect(rs.map((r) => r.status)).toEqual([500, 200]); // same connection, same worker
      const logged = await srv.waitForLog((l) => l.event === 'request-failed');
      expect(logged).toMatchObject({ level: 'error', method: 'GET', target: '/__fault__/throw', error: 'injected fault while handling a request' });
      expect(srv.logs.some((l) => l.event === 'worker-died')).toBe(false);
    } finally {
      await srv.stop();
    }
  });

  it('without WEBROOT_FAULT_INJECTION the fault paths are ordinary 404s', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '0']);
    try {
      expect((await raw(srv.port, 'GET', '/__fault__/throw')).status).toBe(404);
    } finally {
      await srv.stop();
    }
  });

  it('a worker whose state is unsafe (uncaught exception) exits and is replaced; a crash loop is throttled with backoff', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1'], FAULTS);
    try {
      for (let i = 0; i < 4; i++) {
        const deaths = srv.logs.filter((l) => l.event === 'worker-died' || l.event === 'crash-loop').length;
        await srv.waitForLog(() => workerPids(srv.logs).length === i + 1, 10_000);
        await rawExchange(srv.port, 'GET /__fault__/crash HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000).catch(() => undefined);
        await srv.waitForLog(() => srv.logs.filter((l) => l.event === 'worker-died' || l.event === 'crash-loop').length > deaths, 10_000);
      }
      const crashed = srv.logs.find((l) => l.event === 'worker-crashed')!;
      expect(crashed).toMatchObject({ level: 'error', error: 'injected fault outside request handling' });
      const first = srv.logs.find((l) => l.event === 'worker-died')!;
      expect(first).toMatchObject({ exitCode: 70, restartInMs: 0 });
      const loop = srv.logs.filter((l) => l.event === 'crash-loop');
      expect(loop.length).toBeGreaterThanOrEqual(1);
      expect(loop[0]).toMatchObject({ level: 'error', restartInMs: 250 });
      if (loop.length > 1) expect(loop[1]).toMatchObject({ restartInMs: 500 });
      // still comes back after the backoff
      await srv.waitForLog(() => workerPids(srv.logs).length === 5, 10_000);
      await sleep(100);
      expect((await raw(srv.port, 'GET', '/about.html')).status).toBe(200);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  }, 60_000);

  it('SIGHUP makes every worker rescan (with watching off)', async () => {
    const vhosts = tmpDir('vhosts-');
    fs.symlinkSync(fx.webroots.default, path.join(vhosts, '__default__'));
    const srv = await startHttpd(vhosts, ['--workers', '2', '--no-watch', '--rescan-interval', '3600']);
    try {
      await srv.waitForLog(() => workerPids(srv.logs).length === 2);
      const tmp = path.join(vhosts, '.tmp');
      fs.symlinkSync(fx.webroots.example, tmp);
      fs.renameSync(tmp, path.join(vhosts, '__default__'));
      await sleep(300);
      for (let i = 0; i < 6; i++) expect((await raw(srv.port, 'GET', '/about.html')).status).toBe(200); // old site still
      srv.proc.kill('SIGHUP');
      await srv.waitForLog(() => srv.logs.filter((l) => l.event === 'vhost-swapped').length === 2);
      // fresh connections land on either worker: all see the new site
      for (let i = 0; i < 10; i++) expect((await raw(srv.port, 'GET', '/')).body.toString()).toBe('<p>example.com home</p>\n');
    } finally {
      await srv.stop();
    }
  });

  it('SIGTERM to the primary drains every worker and exits 0', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '2']);
    await srv.waitForLog(() => workerPids(srv.logs).length === 2);
    const pids = workerPids(srv.logs);
    expect(await srv.stop('SIGTERM')).toBe(0);
    expect(srv.logs.filter((l) => l.event === 'stopped').length).toBe(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('load and hostile clients', () => {
  it('10,000 idle keep-alive connections do not stop normal clients, and their memory is measured', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--keepalive-timeout', '120']);
    const sockets: net.Socket[] = [];
    try {
      const pid = (await srv.waitForLog((l) => l.event === 'vhost-loaded')).pid as number;
      await raw(srv.port, 'GET', '/about.html');
      const before = rssBytes(pid);
      const N = 10_000;
      for (let i = 0; i < N; i += 500) {
        const batch = Array.from({ length: Math.min(500, N - i) }, () => {
          const s = net.connect(srv.port, '127.0.0.1');
          s.on('error', () => {});
          sockets.push(s);
          return new Promise((r) => s.once('connect', r));
        });
        await Promise.all(batch);
      }
      // Each idle connection has made one request, as a browser's would.
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.once('data', () => resolve());
              s.write('GET /c++.html HTTP/1.1\r\nHost: x\r\n\r\n');
            }),
        ),
      );
      await sleep(500);
      const after = rssBytes(pid);
      const started = performance.now();
      const r = await raw(srv.port, 'GET', '/about.html');
      const ms = performance.now() - started;
      expect(r.status).toBe(200);
      expect(ms).toBeLessThan(2000);
      const open = sockets.filter((s) => !s.destroyed).length;
      expect(open).toBe(N);
      const perConnection = (after - before) / N;
      console.log(`10,000 idle keep-alive connections: worker RSS ${(before / 2 ** 20).toFixed(1)} MiB -> ${(after / 2 ** 20).toFixed(1)} MiB, ${(perConnection / 1024).toFixed(2)} KiB per connection; a normal request took ${ms} ms`);
      expect(perConnection).toBeLessThan(16 * 1024);
    } finally {
      for (const s of sockets) s.destroy();
      await srv.stop();
    }
  }, 120_000);

  it('a slow request body is cut off by the deadline without slowing others', async () => {
    const srv = await startHttpd(fx.vhosts, ['--workers', '1', '--header-timeout', '1', '--keepalive-timeout', '10']);
    try {
      const socket = net.connect(srv.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', () => {});
      const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
      const started = performance.now();
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc');
      const trickle = setInterval(() => socket.writable && socket.write('x'), 200);
      expect((await raw(srv.port, 'GET', '/about.html')).status).toBe(200);
      const end = await Promise.race([closed, sleep(8000).then(() => -1)]);
      clearInterval(trickle);
      expect(end).toBeGreaterThan(0);
      expect(end - started).toBeLessThan(3000);
      expect(parseResponses(Buffer.concat(chunks))[0]!.status).toBe(405);
    } finally {
      await srv.stop();
    }
  });

  it('a client that stops reading a large response is abandoned after --send-timeout', async () => {
    // 32 MiB: more than loopback socket buffers hold, so the server really has to wait for the reader.
    const { vhosts } = await singleSiteVhosts({ 'huge.bin': noise(32 * 1024 * 1024, 9) });
    const srv = await startHttpd(vhosts, ['--workers', '1', '--send-timeout', '1', '--keepalive-timeout', '30']);
    try {
      const socket = net.connect(srv.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.pause();
      const started = performance.now();
      // Others are served while it stalls.
      expect((await raw(srv.port, 'GET', '/huge.bin', { Range: 'bytes=0-9' })).status).toBe(206);
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          const ss = spawnSync('ss', ['-tn', `sport = :${srv.port}`], { encoding: 'utf8' });
          const established = ss.stdout.split('\n').filter((l) => l.startsWith('ESTAB')).length;
          if (established === 0 || performance.now() - started > 6000) {
            clearInterval(check);
            resolve();
          }
        }, 100);
      });
      // abandoned after ~1 s of no progress, long before --keepalive-timeout (30 s)
      expect(performance.now() - started).toBeLessThan(4000);
      socket.destroy();
    } finally {
      await srv.stop();
    }
  });
});

describe('a webroot damaged in place under the server', () => {
  it.each(['sync', 'stream', 'async'] as const)('--io %s: a read that fails before the response starts is a 500; the rest keeps serving', async (io) => {
    const files = { 'a.txt': 'first file\n', 'z.bin': noise(300_000, 4) };
    const { vhosts, webroot: out } = await singleSiteVhosts(files, { compress: false });
    const srv = await startHttpd(vhosts, ['--workers', '1', '--io', io, '--cache-size', '0']);
    try {
      // Someone truncates the live file (a deploy must never do this: it writes a new file and renames).
      fs.truncateSync(out, fs.statSync(out).size - 200_000);
      const r = await raw(srv.port, 'GET', '/z.bin');
      expect(r.status).toBe(500);
      expect(r.headers.connection).toBe('close');
      await srv.waitForLog((l) => l.event === 'send-failed');
      expect((await raw(srv.port, 'GET', '/a.txt')).body.toString()).toBe('first file\n');
    } finally {
      await srv.stop();
    }
  });
});
