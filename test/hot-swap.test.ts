import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { openWebroot, type FileEntry } from '@webroot/format';
import { createLogger, VhostRegistry, type Site } from '@webroot/httpd';
import { packDirectory } from '@webroot/mkroot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { fdCount, fdsTo } from './helpers/proc.js';
import { KeepAliveClient, parseResponses, raw, type RawResponse } from './helpers/raw.js';
import { swapLoadClients } from './helpers/swap-load.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

const VERSIONS = [1, 2, 3];
const BIG = 2 * 1024 * 1024;

interface Known {
  version: number;
  path: string;
  bytes: Buffer;
}

let releases: string;
let files: Record<number, string>;
/** Every representation of every version, by ETag. */
const byEtag = new Map<string, Known>();

beforeAll(async () => {
  releases = tmpDir('releases-');
  files = {};
  for (const v of VERSIONS) {
    const src = writeTree(tmpDir(`site-v${v}-`), {
      'index.html': `<!doctype html><h1>version ${v}</h1>\n${'<p>padding so that variants exist</p>\n'.repeat(50)}`,
      'app.css': `/* v${v} */ body { color: #${v}${v}${v}; }\n`.repeat(40),
      'big.bin': noise(BIG, 100 + v),
    });
    files[v] = path.join(releases, `site-v${v}.webroot`);
    await packDirectory(src, files[v]!, { compression: { brotliQuality: 4, gzipLevel: 6 } });
    const w = openWebroot(files[v]!);
    for (const e of w.all()) {
      if (e.kind !== 'file') continue;
      byEtag.set(e.object.etag, { version: v, path: e.path, bytes: w.readObjectSync(e.object) });
      for (const variant of e.variants) byEtag.set(variant.object.etag, { version: v, path: e.path, bytes: w.readObjectSync(variant.object) });
    }
    w.close();
  }
});

/** Points vhosts/name at `target` atomically: a new symlink renamed over the entry. */
function swapLink(vhosts: string, name: string, target: string): void {
  const tmp = path.join(vhosts, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, path.join(vhosts, name));
}

/** Replaces vhosts/name by a copy of `source`, renamed into place (no symlink). */
function swapCopy(vhosts: string, name: string, source: string): void {
  const tmp = path.join(vhosts, `.copy-${Math.random().toString(36).slice(2)}`);
  fs.copyFileSync(source, tmp);
  fs.renameSync(tmp, path.join(vhosts, name));
}

/** Checks one response against the version its ETag names; returns that version, or a description of what is wrong. */
function check(target: string, r: RawResponse): number | string {
  const known = byEtag.get(r.headers.etag ?? '');
  if (!known) return `${target}: status ${r.status}, unknown ETag ${r.headers.etag}`;
  if (known.path !== target.split('?')[0]) return `${target}: ETag of ${known.path}`;
  if (r.status === 200) return r.body.equals(known.bytes) ? known.version : `${target}: body is not version ${known.version}`;
  if (r.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.headers['content-range'] ?? '');
    if (!m || Number(m[3]) !== known.bytes.length) return `${target}: bad Content-Range ${r.headers['content-range']}`;
    return r.body.equals(known.bytes.subarray(Number(m[1]), Number(m[2]) + 1)) ? known.version : `${target}: range is not version ${known.version}`;
  }
  return `${target}: status ${r.status}`;
}

async function versionNow(port: number): Promise<number> {
  const r = await raw(port, 'GET', '/index.html');
  return byEtag.get(r.headers.etag ?? '')?.version ?? -1;
}

describe('zero-downtime swaps', () => {
  let vhosts: string;
  let srv: RunningHttpd;
  beforeAll(async () => {
    vhosts = tmpDir('vhosts-');
    swapLink(vhosts, '__default__', path.relative(vhosts, files[1]!));
    srv = await startHttpd(vhosts, ['--workers', '2']);
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  it('swaps under continuous load: no failed request, every body byte-identical to exactly one version', async () => {
    const failures: string[] = [];
    const seen = new Set<number>();
    let requests = 0;
    let stop = false;
    const note = (target: string, r: RawResponse) => {
      requests++;
      const v = check(target, r);
      if (typeof v === 'number') seen.add(v);
      else failures.push(v);
    };
    const pick = (i: number): [string, Record<string, string>] => {
      const enc: Record<string, string> = [{}, { 'Accept-Encoding': 'br' }, { 'Accept-Encoding': 'gzip' }][i % 3]!;
      if (i % 4 === 0) {
        const start = (i * 7919) % (BIG - 300_000);
        return ['/big.bin', { Range: `bytes=${start}-${start + 262_143}` }];
      }
      return [i % 4 === 1 ? '/app.css' : '/index.html', enc];
    };
    const { keepAlive, fresh } = swapLoadClients(srv.port, pick, note, failures, () => stop);
    // A whole 2 MiB download read slowly, in flight across several swaps.
    const slowDownload = async () => {
      while (!stop) {
        const socket = net.connect(srv.port, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => {
          chunks.push(c);
          socket.pause();
          setTimeout(() => socket.resume(), 40);
        });
        socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        await new Promise((r) => socket.on('close', r));
        const [r] = parseResponses(Buffer.concat(chunks));
        note('/big.bin', r!);
      }
    };
    const load = [keepAlive(0), keepAlive(1), keepAlive(2), keepAlive(3), fresh(5), fresh(6), slowDownload()];

    const order = [2, 3, 1, 2, 3, 1, 2, 3];
    for (const [i, v] of order.entries()) {
      await new Promise((r) => setTimeout(r, 400));
      if (i === 4) swapCopy(vhosts, '__default__', files[v]!); // a file renamed into place, not a symlink
      else swapLink(vhosts, '__default__', path.relative(vhosts, files[v]!));
    }
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(200);
    expect([...seen].sort()).toEqual([1, 2, 3]);
    console.log(`swap under load: ${requests} requests checked across ${order.length} swaps, 0 failures`);
  }, 60_000);

  it('new requests see the new version within a second of the rename', async () => {
    const latencies: number[] = [];
    for (const v of [1, 2, 3, 1, 2]) {
      const started = performance.now();
      swapLink(vhosts, '__default__', files[v]!);
      while ((await versionNow(srv.port)) !== v) {
        if (performance.now() - started > 1000) throw new Error(`version ${v} not served within 1000 ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - started);
    }
    console.log(`swap visible after (ms): ${latencies.join(', ')}`);
    expect(Math.max(...latencies)).toBeLessThan(1000);
  });

  it.each([
    ['a truncated file', 'WEBROOT_TRUNCATED', (p: string) => fs.writeFileSync(p, fs.readFileSync(files[3]!).subarray(0, fs.statSync(files[3]!).size - 100))],
    ['a file that is not a webroot', 'WEBROOT_BAD_MAGIC', (p: string) => fs.writeFileSync(p, '<html>oops</html>')],
    ['a newer format version', 'WEBROOT_UNSUPPORTED_VERSION', (p: string) => {
      const b = fs.readFileSync(files[3]!);
      b.writeUInt32BE(99, 60);
      fs.writeFileSync(p, b);
    }],
    ['a dangling symlink', 'ENOENT', undefined],
  ] as const)('%s swapped in is refused and the previous version keeps serving', async (name, code, make) => {
    swapLink(vhosts, '__default__', files[2]!);
    // Both workers must have moved to version 2 (each rescans on its own): the last load each one logged is of it.
    const v2 = fs.realpathSync(files[2]!);
    const everyWorkerOnV2 = () => {
      const last = new Map<unknown, unknown>();
      for (const l of srv.logs) if ((l.event === 'vhost-loaded' || l.event === 'vhost-swapped') && l.vhost === '__default__') last.set(l.worker, l.target);
      return last.size >= 2 && [...last.values()].every((t) => t === v2);
    };
    for (let i = 0; i < 500 && !everyWorkerOnV2(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(everyWorkerOnV2()).toBe(true);
    const bad = path.join(releases, `bad-${name.replace(/ /g, '-')}.webroot`);
    make?.(bad);
    const logsBefore = srv.logs.length;
    swapLink(vhosts, '__default__', bad);
    // This case's refusal: a worker that was slow to see the previous case's bad file may log that one after
    // logsBefore (both workers still serve version 2 then, so nothing else tells the two apart).
    const refusal = await srv.waitForLog((l) => srv.logs.indexOf(l) >= logsBefore && l.event === 'vhost-refused' && String(l.code ?? l.error).includes(code));
    expect(String(refusal.code ?? refusal.error)).toContain(code);
    expect(refusal).toMatchObject({ vhost: '__default__', keeping: 'previous version' });
    for (let i = 0; i < 6; i++) expect(await versionNow(srv.port)).toBe(2);
  });

  it('adding an entry adds a site; removing it removes it', async () => {
    swapLink(vhosts, '__default__', files[1]!);
    swapLink(vhosts, 'new.test', files[3]!);
    const deadline = performance.now() + 2000;
    let r = await raw(srv.port, 'GET', '/index.html', {}, 'new.test');
    while (!r.body.toString().includes('version 3') && performance.now() < deadline) r = await raw(srv.port, 'GET', '/index.html', {}, 'new.test');
    expect(r.body.toString()).toContain('version 3');
    fs.unlinkSync(path.join(vhosts, 'new.test'));
    await srv.waitForLog((l) => l.event === 'vhost-removed' && l.vhost === 'new.test');
    await new Promise((r) => setTimeout(r, 100)); // the other worker
    for (let i = 0; i < 4; i++) expect((await raw(srv.port, 'GET', '/index.html', {}, 'new.test')).body.toString()).toContain('version 1');
  });
});

describe('file descriptors across swaps', () => {
  it('after 1,000 swaps in a real worker, it holds no more descriptors than before', async () => {
    const vhosts = tmpDir('vhosts-');
    swapLink(vhosts, '__default__', files[1]!);
    const srv = await startHttpd(vhosts, ['--workers', '1']);
    try {
      const pid = (await srv.waitForLog((l) => l.event === 'vhost-loaded')).pid as number;
      expect(await versionNow(srv.port)).toBe(1);
      const fdsBefore = fdCount(pid);
      // Two per open webroot: the one bytes are read from, and the index's SQLite connection to the same inode.
      expect(fdsTo(pid, '.webroot')).toBe(2);
      const client = new KeepAliveClient(srv.port);
      const started = performance.now();
      for (let i = 1; i <= 1000; i++) {
        const v = (i % 2) + 1; // 2, 1, 2, ...
        swapLink(vhosts, '__default__', files[v]!);
        for (;;) {
          const r = await client.request('GET', '/app.css');
          if (byEtag.get(r.headers.etag!)?.version === v) break;
          await new Promise((res) => setTimeout(res, 2));
        }
      }
      client.close();
      const ms = performance.now() - started;
      await new Promise((r) => setTimeout(r, 200));
      console.log(`1000 swaps in ${ms} ms; fds before ${fdsBefore}, after ${fdCount(pid)}`);
      expect(fdsTo(pid, '.webroot')).toBe(2);
      expect(fdCount(pid)).toBeLessThanOrEqual(fdsBefore);
    } finally {
      await srv.stop();
    }
  }, 120_000);

  it('a retired webroot closes when its last in-flight use ends (registry, in process)', () => {
    const vhosts = tmpDir('vhosts-');
    swapLink(vhosts, '__default__', files[1]!);
    const registry = new VhostRegistry(vhosts, createLogger('error'));
    registry.rescan();
    const old = (registry.lookup('anything') as Site).webroot;
    old.acquire(); // a response in flight
    swapLink(vhosts, '__default__', files[2]!);
    registry.rescan();
    expect((registry.lookup('anything') as Site).webroot).not.toBe(old);
    expect(old.isClosed).toBe(false);
    const obj = (old.lookup('/index.html') as FileEntry).object;
    expect(old.readObjectSync(obj).toString()).toContain('version 1'); // the old response finishes on the old file
    old.release();
    expect(old.isClosed).toBe(true);
    registry.close();
  });
});
