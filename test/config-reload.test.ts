import fs from 'node:fs';
import path from 'node:path';
import { packDirectory } from '@webroot/mkroot';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

let fx: Fixture;
let docsA: string;
let docsB: string;
beforeAll(async () => {
  fx = await makeFixture();
  const out = tmpDir('mount-webroots-');
  docsA = path.join(out, 'docs-a.webroot');
  docsB = path.join(out, 'docs-b.webroot');
  await packDirectory(writeTree(tmpDir('docs-a-'), { 'page.txt': 'version A\n', 'index.html': '<p>A</p>\n', 'sub/x.txt': 'A x\n' }), docsA);
  await packDirectory(writeTree(tmpDir('docs-b-'), { 'page.txt': 'version B\n', 'index.html': '<p>B</p>\n', 'sub/x.txt': 'B x\n' }), docsB);
});

/** Writes the file the way an editor or a deploy tool would: a temporary file renamed over it. */
function writeAtomically(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

const config = (o: { cacheControl: string; docs: string; workers?: number; extra?: string }) =>
  `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = ${o.workers ?? 2}\ncache_control = ${JSON.stringify(o.cacheControl)}\n${o.extra ?? ''}\n[[listen]]\naddress = "127.0.0.1:0"\n\n[[mount]]\nhost = "__default__"\nprefix = "/docs/"\nwebroot = ${JSON.stringify(o.docs)}\n`;

async function start(file: string): Promise<RunningHttpd> {
  const h = await startHttpdWith(['--config', file]);
  // Every worker has loaded the mount before the test begins.
  for (let i = 0; i < 2; i++) await h.waitForLog((l) => l.event === 'vhost-loaded' && l.vhost === '__default__/docs/' && l.worker === i + 1);
  return h;
}

const reloads = (h: RunningHttpd, event: string) => h.logs.filter((l) => l.event === event).length;

describe('configuration reload', () => {
  it('a valid edit is applied to every worker; config-reloaded lists what changed; a restart-only change is named, not applied', async () => {
    const file = path.join(tmpDir('cfg-'), 'httpd.toml');
    fs.writeFileSync(file, config({ cacheControl: 'max-age=1', docs: docsA }));
    const h = await start(file);
    try {
      expect((await fetch(h.url('/docs/page.txt'))).headers.get('cache-control')).toBe('max-age=1');
      writeAtomically(file, config({ cacheControl: 'max-age=2', docs: docsA, extra: 'io = "async"\n' }));
      const line = await h.waitForLog((l) => l.event === 'config-reloaded');
      expect(line.changed).toEqual(['cacheControl', 'io']);
      expect(line.restartRequired).toEqual(['io']);
      // Both workers: several connections, so the kernel spreads them.
      await h.waitForLog((l) => l.event === 'config-applied' && l.worker === 1);
      await h.waitForLog((l) => l.event === 'config-applied' && l.worker === 2);
      for (let i = 0; i < 10; i++) {
        const res = await fetch(h.url('/docs/page.txt'), { headers: { connection: 'close' } });
        expect(res.headers.get('cache-control')).toBe('max-age=2');
      }
      // SIGHUP re-reads the file too (here: unchanged).
      h.proc.kill('SIGHUP');
      expect((await h.waitForLog((l) => l.event === 'config-unchanged' && l.why === 'SIGHUP')).file).toBe(file);
    } finally {
      await h.stop();
    }
  });

  it('an invalid edit is logged as config-rejected with every problem, and nothing changes', async () => {
    const file = path.join(tmpDir('cfg-'), 'httpd.toml');
    fs.writeFileSync(file, config({ cacheControl: 'max-age=1', docs: docsA }));
    const h = await start(file);
    try {
      writeAtomically(file, config({ cacheControl: 'max-age=9', docs: path.join(tmpDir(), 'missing.webroot'), extra: 'workerz = 3\n' }));
      const line = await h.waitForLog((l) => l.event === 'config-rejected');
      expect(line.keeping).toBe('the running configuration');
      const problems = line.problems as string[];
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/httpd\.toml:\d+:1: workerz: unknown key at the top level; did you mean 'workers'\?/);
      // Fix the key, keep a missing webroot: the filesystem check rejects it too.
      writeAtomically(file, config({ cacheControl: 'max-age=9', docs: path.join(tmpDir(), 'missing.webroot') }));
      await h.waitForLog((l) => l.event === 'config-rejected' && String((l.problems as string[])[0]).includes('missing.webroot: no such file'));
      for (let i = 0; i < 6; i++) {
        const res = await fetch(h.url('/docs/page.txt'), { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-control')).toBe('max-age=1');
        expect(await res.text()).toBe('version A\n');
      }
      expect(reloads(h, 'config-reloaded')).toBe(0);
    } finally {
      await h.stop();
    }
  });

  it('under continuous load, a reload that changes a mount and Cache-Control fails no request, and each response is all old or all new; an invalid edit changes nothing', async () => {
    const file = path.join(tmpDir('cfg-'), 'httpd.toml');
    fs.writeFileSync(file, config({ cacheControl: 'max-age=1', docs: docsA }));
    const h = await start(file);
    const OLD = 'max-age=1|version A\n';
    const NEW = 'max-age=2|version B\n';
    const seen: string[] = [];
    let failures = 0;
    let stop = false;
    const deadline = performance.now() + 20_000;
    // Eight keep-alive clients, each bounded in count and time.
    const client = async () => {
      for (let i = 0; i < 5000 && !stop && performance.now() < deadline; i++) {
        try {
          const res = await fetch(h.url(i % 2 === 0 ? '/docs/page.txt' : '/docs/sub/../page.txt'));
          const body = await res.text();
          if (res.status !== 200) failures++;
          seen.push(`${res.headers.get('cache-control')}|${body}`);
        } catch {
          failures++;
        }
      }
    };
    try {
      const clients = Array.from({ length: 8 }, client);
      const waitFor = async (n: number) => {
        const until = performance.now() + 10_000;
        while (seen.length < n && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      };
      await waitFor(200);
      writeAtomically(file, config({ cacheControl: 'max-age=2', docs: docsB }));
      const line = await h.waitForLog((l) => l.event === 'config-reloaded');
      expect(line.changed).toEqual(['cacheControl', 'mounts']);
      await h.waitForLog((l) => l.event === 'config-applied' && l.worker === 1);
      await h.waitForLog((l) => l.event === 'config-applied' && l.worker === 2);
      const applied = seen.length;
      await waitFor(applied + 300);
      writeAtomically(file, config({ cacheControl: 'max-age=3', docs: docsA, extra: 'cache_size = "lots"\n' }));
      await h.waitForLog((l) => l.event === 'config-rejected');
      const rejected = seen.length;
      await waitFor(rejected + 300);
      stop = true;
      await Promise.all(clients);

      expect(failures).toBe(0);
      const mixed = seen.filter((s) => s !== OLD && s !== NEW);
      expect(mixed).toEqual([]);
      expect(seen.slice(0, 100).every((s) => s === OLD)).toBe(true);
      // Once both workers said config-applied (plus the requests already in flight then), only the new settings.
      expect(seen.slice(applied + 8).every((s) => s === NEW)).toBe(true);
      expect(seen.length).toBeGreaterThan(rejected + 8);
      expect(reloads(h, 'config-reloaded')).toBe(1);
    } finally {
      stop = true;
      await h.stop();
    }
  });
});
