import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openWebroot } from '@webroot/format';
import { packDirectory } from '@webroot/mkroot';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { parseResponses, raw, type RawResponse } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

function start(dir: string, text: string): Promise<RunningHttpd> {
  const file = path.join(dir, 'httpd.toml');
  fs.writeFileSync(file, `vhosts = ${JSON.stringify(fx.vhosts)}\n${text}\n[[listen]]\naddress = "127.0.0.1:0"\n`);
  return startHttpdWith(['--config', file]);
}

const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

/** Waits (bounded) until `file` has `n` lines: lines are written after the response, off the request path. */
async function waitLines(file: string, n: number): Promise<string[]> {
  const until = performance.now() + 10_000;
  while (performance.now() < until && lines(file).length < n) await new Promise((r) => setTimeout(r, 25));
  return lines(file);
}

describe('access logs', () => {
  it('json: one object per line with every field, and per-host files for a host and its aliases', async () => {
    const dir = tmpDir('logs-');
    const main = path.join(dir, 'access.log');
    const perHost = path.join(dir, 'example.log');
    const h = await start(dir, `workers = 1\n[access_log]\npath = "access.log"\nformat = "json"\n[[host]]\nname = "example.com"\naliases = ["www.example.com"]\naccess_log = "example.log"\n`);
    try {
      // The line's time is the read's clock (nginx caches its time per event the same way): within the request, to the ms.
      const before = Date.now();
      await fetch(h.url('/about.html?x=1'), { headers: { 'user-agent': 'test "agent"\n', referer: 'http://r.example/' } });
      const after = Date.now();
      // fetch cannot set Host: a raw request can.
      expect((await raw(h.port, 'GET', '/', {}, 'www.example.com')).status).toBe(200);
      expect((await raw(h.port, 'GET', '/', {}, 'example.com')).status).toBe(200);
      const [line] = await waitLines(main, 1);
      const entry = JSON.parse(line!) as Record<string, unknown>;
      const digest = openWebroot(fx.webroots.default).meta.dataSha256;
      expect(entry).toMatchObject({ host: '127.0.0.1', method: 'GET', path: '/about.html', query: 'x=1', status: 200, bytes: fx.files['/about.html']!.length, protocol: 'HTTP/1.1', remote: '127.0.0.1', referer: 'http://r.example/', digest });
      expect(Object.keys(entry)).toEqual(['time', 'host', 'method', 'path', 'query', 'status', 'bytes', 'duration', 'protocol', 'remote', 'user_agent', 'referer', 'digest']);
      expect(typeof entry.duration).toBe('number');
      expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(new Date(entry.time as string).getTime()).toBeGreaterThanOrEqual(before);
      expect(new Date(entry.time as string).getTime()).toBeLessThanOrEqual(after);
      const hostLines = (await waitLines(perHost, 2)).map((l) => JSON.parse(l) as { host: string; digest: string });
      expect(hostLines.map((l) => l.host)).toEqual(['www.example.com', 'example.com']);
      expect(hostLines[0]!.digest).toBe(openWebroot(fx.webroots.example).meta.dataSha256);
      // Per-host lines go to the host's file only.
      expect(lines(main)).toHaveLength(1);
    } finally {
      await h.stop();
    }
  });

  it('SIGUSR1 reopens the files (logrotate): renamed, signalled, new lines in a new file, none lost', async () => {
    const dir = tmpDir('logs-');
    const file = path.join(dir, 'access.log');
    const h = await start(dir, `workers = 2\n[access_log]\npath = "access.log"\nformat = "combined"\n`);
    try {
      const burst = async (tag: string, n: number) => {
        // Separate connections, so both workers write.
        await Promise.all(Array.from({ length: n }, (_, i) => fetch(h.url(`/about.html?${tag}=${i}`), { headers: { connection: 'close' } }).then((r) => r.text())));
      };
      await burst('before', 20);
      await waitLines(file, 20);
      fs.renameSync(file, `${file}.1`);
      await burst('between', 10); // still written to the renamed file, as logrotate expects until the signal
      h.proc.kill('SIGUSR1');
      await h.waitForLog((l) => l.event === 'logs-reopened' && l.worker === 1);
      await h.waitForLog((l) => l.event === 'logs-reopened' && l.worker === 2);
      await burst('after', 20);
      const fresh = await waitLines(file, 20);
      const rotated = await waitLines(`${file}.1`, 30);
      expect(fresh).toHaveLength(20);
      expect(fresh.every((l) => /"GET \/about\.html\?after=\d+ HTTP\/1\.1" 200 /.test(l))).toBe(true);
      expect(rotated).toHaveLength(30);
      expect(rotated.filter((l) => l.includes('?before=')).length).toBe(20);
      expect(rotated.filter((l) => l.includes('?between=')).length).toBe(10);
      expect(new Set([...fresh, ...rotated].map((l) => /\?(\w+=\d+)/.exec(l)![1])).size).toBe(50);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('640');
    } finally {
      await h.stop();
    }
  });

  it('lines written just before SIGTERM are on disk when httpd has exited', async () => {
    const dir = tmpDir('logs-');
    const file = path.join(dir, 'access.log');
    const h = await start(dir, `workers = 1\n[access_log]\npath = "access.log"\nformat = "json"\n`);
    await Promise.all(Array.from({ length: 10 }, () => fetch(h.url('/about.html')).then((r) => r.text())));
    expect(await h.stop()).toBe(0);
    expect(lines(file)).toHaveLength(10);
  });

  it('json: runs of identical requests (copied from the line memo) log their own time, client, status, bytes and site version: a swap, a 304 then a 200 to the same head, a HEAD, another client, a new second', async () => {
    const dir = tmpDir('logs-');
    const file = path.join(dir, 'access.log');
    const versions: { webroot: string; digest: string; etag: string; bytes: number }[] = [];
    for (const v of [1, 2]) {
      const webroot = path.join(dir, `v${v}.webroot`);
      await packDirectory(writeTree(tmpDir(`site-v${v}-`), { 'page.html': `<p>version ${v}</p>\n`.repeat(v) }), webroot);
      const w = openWebroot(webroot);
      const e = w.lookup('/page.html');
      if (e?.kind !== 'file') throw new Error('no /page.html');
      versions.push({ webroot, digest: w.meta.dataSha256, etag: e.object.etag, bytes: e.object.length });
      w.close();
    }
    const vhosts = tmpDir('vhosts-');
    fs.symlinkSync(versions[0]!.webroot, path.join(vhosts, '__default__'));
    fs.writeFileSync(path.join(dir, 'httpd.toml'), `vhosts = ${JSON.stringify(vhosts)}\nworkers = 1\n[access_log]\npath = "access.log"\nformat = "json"\n[[listen]]\naddress = "127.0.0.1:0"\n`);
    const h = await startHttpdWith(['--config', path.join(dir, 'httpd.toml')]);
    /** What each line must say, in order. */
    const want: { method: string; status: number; bytes: number; remote: string; digest: string | null; from: number; to: number }[] = [];
    /** `n` copies of one request head pipelined on a new connection from `local`, every response read. */
    const run = async (head: string, n: number, expect: { status: number; bytes: number; digest: string | null }, local = '127.0.0.1') => {
      const method = head.slice(0, head.indexOf(' '));
      const from = Date.now();
      const responses = await new Promise<RawResponse[]>((resolve, reject) => {
        const socket = net.connect({ port: h.port, host: '127.0.0.1', localAddress: local });
        let data = Buffer.alloc(0);
        const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no ${n} responses to ${head}`))), 5_000);
        socket.on('connect', () => socket.write(head.replace(/\n/g, '\r\n').repeat(n)));
        socket.on('data', (c: Buffer) => {
          data = Buffer.concat([data, c]);
          try {
            const got = parseResponses(data, Array(n).fill(method === 'HEAD'));
            if (got.length < n) return;
            clearTimeout(timer);
            socket.destroy();
            resolve(got);
          } catch {
            // not all of it yet
          }
        });
        socket.on('error', reject);
      });
      const to = Date.now();
      for (const r of responses) want.push({ method, status: r.status, bytes: expect.bytes, remote: local, digest: expect.digest, from, to });
      return responses.map((r) => r.status);
    };
    try {
      const [v1, v2] = versions as [(typeof versions)[0], (typeof versions)[0]];
      const GET = 'GET /page.html HTTP/1.1\nHost: localhost\nUser-Agent: repeat\n\n';
      const REVALIDATE = `GET /page.html HTTP/1.1\nHost: localhost\nUser-Agent: repeat\nIf-None-Match: ${v1.etag}\n\n`;
      expect(await run(GET, 4, { status: 200, bytes: v1.bytes, digest: v1.digest })).toEqual([200, 200, 200, 200]);
      expect(await run(GET, 3, { status: 200, bytes: v1.bytes, digest: v1.digest }, '127.0.0.2')).toEqual([200, 200, 200]);
      expect(await run(GET.replace('GET', 'HEAD'), 3, { status: 200, bytes: 0, digest: v1.digest })).toEqual([200, 200, 200]);
      // A 304 names no digest (as before the memo: its response reads nothing from the webroot, HttpResponse.site).
      expect(await run(REVALIDATE, 3, { status: 304, bytes: 0, digest: null })).toEqual([304, 304, 304]);
      // A new site version: the same revalidation head, right after, now gets a 200 of the new file from the new webroot.
      const tmp = path.join(vhosts, '.swap');
      fs.symlinkSync(v2.webroot, tmp);
      fs.renameSync(tmp, path.join(vhosts, '__default__'));
      await h.waitForLog((l) => l.event === 'vhost-swapped' && l.vhost === '__default__');
      expect(await run(REVALIDATE, 3, { status: 200, bytes: v2.bytes, digest: v2.digest })).toEqual([200, 200, 200]);
      // The next second (waited for, at most one): the time's seconds change under the memo.
      const second = Math.floor(Date.now() / 1000);
      while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 10));
      expect(await run(REVALIDATE, 3, { status: 200, bytes: v2.bytes, digest: v2.digest })).toEqual([200, 200, 200]);
      const got = (await waitLines(file, want.length)).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(got).toHaveLength(want.length);
      got.forEach((line, i) => {
        const w = want[i]!;
        expect(line, `line ${i + 1}`).toMatchObject({ method: w.method, path: '/page.html', status: w.status, bytes: w.bytes, remote: w.remote, digest: w.digest, user_agent: 'repeat', host: 'localhost' });
        // The read's clock, to the millisecond: between the run's first write and its last response.
        const t = new Date(line.time as string).getTime();
        expect(t, `line ${i + 1} time`).toBeGreaterThanOrEqual(w.from);
        expect(t, `line ${i + 1} time`).toBeLessThanOrEqual(w.to);
      });
    } finally {
      await h.stop();
    }
  });
});
