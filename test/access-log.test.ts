import fs from 'node:fs';
import path from 'node:path';
import { openWebroot } from '@webroot/format';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { raw } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

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
  const until = Date.now() + 10_000;
  while (Date.now() < until && lines(file).length < n) await new Promise((r) => setTimeout(r, 25));
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
});
