import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openWebroot } from '@webroot/format';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await makeFixture();
});

async function startWithAdmin(vhosts: string, extra = ''): Promise<{ h: RunningHttpd; admin: (p: string, init?: RequestInit) => Promise<Response> }> {
  const file = path.join(tmpDir('admin-cfg-'), 'httpd.toml');
  fs.writeFileSync(file, `vhosts = ${JSON.stringify(vhosts)}\nworkers = 2\nadmin = "127.0.0.1:0"\n${extra}\n[[listen]]\naddress = "127.0.0.1:0"\n`);
  const h = await startHttpdWith(['--config', file]);
  const port = (await h.waitForLog((l) => l.event === 'admin-listening')).port as number;
  return { h, admin: (p, init) => fetch(`http://127.0.0.1:${port}${p}`, init) };
}

/** The value of one series in a Prometheus text exposition. */
function series(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const GET_2XX = 'webroot_http_requests_total{host="__default__",method="GET",code_class="2xx"}';

describe('admin listener', () => {
  it('is off by default', async () => {
    const h = await startHttpd(fx.vhosts, ['--workers', '1']);
    try {
      expect(h.logs.some((l) => l.event === 'admin-listening')).toBe(false);
    } finally {
      await h.stop();
    }
  });

  it('/healthz, /readyz, /metrics aggregated over every worker; a replaced worker does not make counters go backwards', async () => {
    const { h, admin } = await startWithAdmin(fx.vhosts);
    try {
      const health = await admin('/healthz');
      expect(health.status).toBe(200);
      expect(await health.text()).toBe('ok\n');
      expect(health.headers.get('cache-control')).toBe('no-store');
      const ready = await admin('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.text()).toBe('ready\n');
      expect((await admin('/nope')).status).toBe(404);
      expect((await admin('/metrics', { method: 'POST' })).status).toBe(405);

      // Separate connections, so both workers are likely to answer some.
      for (let i = 0; i < 12; i++) expect((await fetch(h.url('/about.html'), { headers: { connection: 'close' } })).status).toBe(200);
      const m = await admin('/metrics');
      expect(m.status).toBe(200);
      expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await m.text();
      expect(series(text, GET_2XX)).toBe(12);
      expect(series(text, 'webroot_http_response_bytes_total{host="__default__"}')).toBe(12 * fx.files['/about.html']!.length);
      expect(series(text, 'webroot_http_request_duration_seconds_count')).toBe(12);
      expect(series(text, 'webroot_worker_restarts_total')).toBe(0);
      expect(series(text, 'webroot_swaps_total{result="loaded"}')).toBe(4); // two sites in two workers
      // Which webroot each site serves: digest and creation time from the file itself.
      for (const [host, file] of [['__default__', fx.webroots.default], ['example.com', fx.webroots.example]] as const) {
        const w = openWebroot(file);
        const created = new Date(w.meta.created * 1000).toISOString();
        expect(series(text, `webroot_site_info{host="${host}",digest="${w.meta.dataSha256}",created="${created}"}`)).toBe(1);
        w.close();
      }
      expect(text).toMatch(/^webroot_build_info\{version="\d+\.\d+\.\d+",nodejs="v20\.[^"]+"\} 1$/m);
      expect(text).not.toContain('about.html'); // never a path as a label

      // Kill a worker: the supervisor replaces it; what it counted stays counted.
      const pid = (h.logs.find((l) => l.event === 'vhost-loaded' && l.worker === 1) as { pid: number }).pid;
      process.kill(pid, 'SIGKILL');
      await h.waitForLog((l) => l.event === 'worker-died' && l.diedPid === pid);
      await h.waitForLog((l) => l.event === 'vhost-loaded' && l.worker === 3);
      const after = await (await admin('/metrics')).text();
      expect(series(after, GET_2XX)).toBe(12);
      expect(series(after, 'webroot_worker_restarts_total')).toBe(1);
      await fetch(h.url('/about.html'));
      expect(series(await (await admin('/metrics')).text(), GET_2XX)).toBe(13);
    } finally {
      await h.stop();
    }
  });

  it('/readyz is 503 and lists an entry that exists but does not load, then 200 once it is gone', async () => {
    const vhosts = tmpDir('vhosts-');
    fs.symlinkSync(fx.webroots.default, path.join(vhosts, '__default__'));
    const { h, admin } = await startWithAdmin(vhosts, 'rescan_interval = "200ms"\n');
    try {
      expect((await admin('/readyz')).status).toBe(200);
      fs.writeFileSync(path.join(vhosts, 'broken.example'), 'not a webroot');
      await h.waitForLog((l) => l.event === 'vhost-refused' && l.vhost === 'broken.example' && l.worker === 1);
      await h.waitForLog((l) => l.event === 'vhost-refused' && l.vhost === 'broken.example' && l.worker === 2);
      const r = await admin('/readyz');
      expect(r.status).toBe(503);
      expect(await r.text()).toMatch(/^not ready: 1 not loaded\nbroken\.example: .+\n$/);
      const m = await (await admin('/metrics')).text();
      expect(series(m, 'webroot_swaps_total{result="refused"}')).toBe(2);
      fs.rmSync(path.join(vhosts, 'broken.example'));
      const until = performance.now() + 10_000;
      let status = 0;
      while (performance.now() < until && (status = (await admin('/readyz')).status) !== 200) await new Promise((res) => setTimeout(res, 100));
      expect(status).toBe(200);
    } finally {
      await h.stop();
    }
  });

  it('an admin address in use is one clear error at start-up', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const file = path.join(tmpDir('admin-cfg-'), 'httpd.toml');
    fs.writeFileSync(file, `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = 1\nadmin = "127.0.0.1:${port}"\n[[listen]]\naddress = "127.0.0.1:0"\n`);
    try {
      const { runNode } = await import('./helpers/run.js');
      const { HTTPD_BIN } = await import('./helpers/paths.js');
      const r = await runNode(HTTPD_BIN, ['--config', file], { timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`httpd: cannot listen on the admin address 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*; choose another admin address`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, program);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const prometheusBin = which('prometheus');
if (!prometheusBin) console.log('admin.test.ts: skipping the real-Prometheus test: no prometheus on PATH (apt-get install prometheus; .ci/apt.d/config.txt lists it)');

describe.skipIf(!prometheusBin)('a real Prometheus scrapes /metrics', () => {
  it('and its HTTP API reports the request counter our requests moved', async () => {
    const { h, admin } = await startWithAdmin(fx.vhosts);
    const adminPort = new URL((h.logs.find((l) => l.event === 'admin-listening') as { url: string }).url).port;
    let prom: ChildProcess | undefined;
    try {
      for (let i = 0; i < 7; i++) await fetch(h.url('/about.html'));
      expect(series(await (await admin('/metrics')).text(), GET_2XX)).toBe(7);
      const dir = tmpDir('prometheus-');
      fs.writeFileSync(
        path.join(dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: webroot\n    static_configs:\n      - targets: ['127.0.0.1:${adminPort}']\n`,
      );
      const promPort = await freePort();
      prom = spawn(prometheusBin!, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
      const query = encodeURIComponent(`sum(${GET_2XX})`);
      const until = performance.now() + 30_000;
      let got: number | undefined;
      while (performance.now() < until && got !== 7) {
        await new Promise((r) => setTimeout(r, 500));
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${query}`).catch(() => undefined);
        if (!res || res.status !== 200) continue;
        const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
        if (body.data.result.length > 0) got = Number(body.data.result[0]!.value[1]);
      }
      expect(got).toBe(7);
      const targets = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
      expect(targets.data.activeTargets.map((t) => t.health)).toEqual(['up']);
    } finally {
      if (prom && prom.exitCode === null) {
        const exited = new Promise((r) => prom!.once('exit', r));
        prom.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        prom.kill('SIGKILL');
      }
      await h.stop();
    }
  });
});
