// Sites of 200,000 files (issue 15): the reader looks entries up on demand, so
// opening costs the same as for ten files; these tests check behaviour through
// the real server. Open time and memory are printed, not asserted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { etagFromHash, openWebroot, type FileEntry } from '@webroot/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { fdCount, fdsTo, rssBytes } from './helpers/proc.js';
import { DIRECTORIES, FILES_PER_DIR, bulkBody, dirName, filePath, writeLargeWebroot } from './helpers/large-site.js';
import { KeepAliveClient, raw, rawRequests, type RawResponse } from './helpers/raw.js';
import { swapLoadClients } from './helpers/swap-load.js';
import { noise, tmpDir } from './helpers/tmp.js';

// Two versions: each 200,000-entry file costs about 10 s to write here (several times that on a loaded host).
const VERSIONS = [1, 2] as const;
const BIG = 1 << 20;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The files that differ between versions (everything else is the generated bulk). */
function versioned(v: number): Record<string, Buffer> {
  return {
    '/index.html': Buffer.from(`<!doctype html><h1>large site, version ${v}</h1>\n`),
    '/404.html': Buffer.from(`<!doctype html><p>not here (version ${v})</p>\n`),
    '/app.css': Buffer.from(`/* v${v} */ body { color: #${v}${v}${v}; }\n`.repeat(20)),
    '/big.bin': noise(BIG, 200 + v),
    '/d001/sub/index.html': Buffer.from(`<p>a directory index, version ${v}</p>\n`),
  };
}

let releases: string;
const files: Record<number, string> = {};
let entries = 0;
/** Every versioned representation, by ETag. */
const byEtag = new Map<string, { version: number; path: string; bytes: Buffer }>();

/** A deterministic sample of generated paths: spread over every directory. */
const samplePaths = (count: number, seed: number) =>
  Array.from({ length: count }, (_, i) => filePath((i * 37 + seed) % DIRECTORIES, (i * 7919 + seed * 13) % FILES_PER_DIR));

beforeAll(() => {
  releases = tmpDir('large-releases-');
  for (const v of VERSIONS) {
    files[v] = path.join(releases, `large-v${v}.webroot`);
    const started = Date.now();
    entries = writeLargeWebroot(files[v]!, versioned(v)).entries;
    console.log(`wrote ${entries} entries (v${v}) in ${Date.now() - started} ms, ${MiB(fs.statSync(files[v]!).size)}`);
    const w = openWebroot(files[v]!);
    for (const p of Object.keys(versioned(v))) {
      const e = w.lookup(p) as FileEntry;
      byEtag.set(e.object.etag, { version: v, path: p, bytes: w.readObjectSync(e.object) });
    }
    w.close();
  }
}, 300_000);

function swapLink(vhosts: string, target: string): void {
  const tmp = path.join(vhosts, `.tmp-${Math.random().toString(36).slice(2)}`);
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, path.join(vhosts, '__default__'));
}

describe('a 200,000-entry webroot', () => {
  let srv: RunningHttpd;
  beforeAll(async () => {
    const vhosts = tmpDir('large-vhosts-');
    swapLink(vhosts, files[1]!);
    srv = await startHttpd(vhosts, ['--workers', '0', '--autoindex']);
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  it('opens in process (open time and memory printed, not asserted) and reports its size', () => {
    const rss = process.memoryUsage().rss;
    const started = process.hrtime.bigint();
    const w = openWebroot(files[1]!);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    try {
      console.log(`openWebroot of ${w.size} entries: ${ms.toFixed(1)} ms, RSS +${MiB(process.memoryUsage().rss - rss)}`);
      expect(w.size).toBe(entries);
      expect(entries).toBeGreaterThanOrEqual(200_000);
      expect(w.lookup(filePath(199, 999))?.kind).toBe('file');
      expect(w.lookup(`${filePath(199, 999)}x`)).toBeUndefined();
      // The root's children: the 200 directories and the top-level files, not 200,000 paths.
      const top = w.children('/').map((e) => e.path);
      expect(top).toHaveLength(DIRECTORIES + 4);
      expect(top.slice(0, 3)).toEqual(['/404.html', '/app.css', '/big.bin']);
      expect(top).toContain(dirName(DIRECTORIES - 1));
    } finally {
      w.close();
    }
  });

  it('serves the exact bytes of a sample of 300 paths from every part of the site', async () => {
    const client = new KeepAliveClient(srv.port);
    try {
      for (const p of samplePaths(300, 1)) {
        const r = await client.request('GET', p);
        expect(r.status, p).toBe(200);
        expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(r.body.equals(bulkBody(p)), p).toBe(true);
        expect(r.headers.etag).toBe(etagFromHash(crypto.createHash('sha256').update(bulkBody(p)).digest()));
      }
    } finally {
      client.close();
    }
    console.log(`server RSS after 300 requests on a ${entries}-entry site: ${MiB(rssBytes(srv.proc.pid!))}`);
  });

  it('directories: a redirect to the slash form, index.html, and a listing of exactly one directory (--autoindex)', async () => {
    const redirect = await raw(srv.port, 'GET', '/d001/sub');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/d001/sub/');
    const index = await raw(srv.port, 'GET', '/d001/sub/');
    expect(index.status).toBe(200);
    expect(index.body.toString()).toBe('<p>a directory index, version 1</p>\n');
    expect((await raw(srv.port, 'GET', '/')).body.toString()).toContain('large site, version 1');
    // /d001 holds its 1,000 files and the subdirectory; nothing of /d0010... or /d002.
    const listing = await raw(srv.port, 'GET', '/d001/');
    expect(listing.status).toBe(200);
    const links = [...listing.body.toString().matchAll(/href="([^"]+)"/g)].map((m) => m[1]!).filter((h) => h !== '../');
    expect(links).toHaveLength(FILES_PER_DIR + 1);
    expect(links[0]).toBe('f0000.txt');
    expect(links).toContain('sub/');
    expect(links.at(-1)).toBe('sub/');
  });

  it('404s: a missing file in a full directory, a missing directory, a file name with a trailing slash', async () => {
    for (const p of ['/d005/f9999.txt', '/d999/f0000.txt', `${filePath(7, 7)}/`, `${filePath(7, 7)}x`]) {
      const r = await raw(srv.port, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString(), p).toContain('not here (version 1)');
    }
  });
});

describe('--io async on a 200,000-entry webroot: a lookup reads its index page on the thread pool first (FORMAT.md section 1.3)', () => {
  let srv: RunningHttpd;
  beforeAll(async () => {
    const vhosts = tmpDir('large-async-vhosts-');
    swapLink(vhosts, files[1]!);
    srv = await startHttpd(vhosts, ['--workers', '0', '--io', 'async']);
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  it('serves the exact bytes of 300 paths not cached, 30 connections at once', async () => {
    const paths = samplePaths(300, 5);
    const clients = Array.from({ length: 30 }, () => new KeepAliveClient(srv.port));
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (let i = c; i < paths.length; i += clients.length) {
            const r = await client.request('GET', paths[i]!);
            expect(r.status, paths[i]).toBe(200);
            expect(r.body.equals(bulkBody(paths[i]!)), paths[i]).toBe(true);
          }
        }),
      );
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('pipelined requests whose lookups wait for the disk are answered in order (RFC 9112 section 9.3.2)', async () => {
    const paths = samplePaths(4, 9);
    const request = paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: localhost\r\n\r\n`).join('') + `HEAD ${paths[0]} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const responses = await rawRequests(srv.port, request, 5, [false, false, false, false, true]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    paths.forEach((p, i) => expect(responses[i]!.body.equals(bulkBody(p)), p).toBe(true));
    expect(responses[4]!.body.length).toBe(0);
    expect(responses[4]!.headers['content-length']).toBe(String(bulkBody(paths[0]!).length));
  });

  it('a missing path, a directory and a GET with a body resolve as in sync mode', async () => {
    expect((await raw(srv.port, 'GET', `${filePath(3, 3)}x`)).status).toBe(404);
    const redirect = await raw(srv.port, 'GET', '/d001/sub');
    expect([redirect.status, redirect.headers.location]).toEqual([301, '/d001/sub/']);
    const p = filePath(11, 11);
    const [withBody, after] = await rawRequests(srv.port, `GET ${p} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhelloGET ${p} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 2);
    expect(withBody!.body.equals(bulkBody(p))).toBe(true);
    expect(after!.body.equals(bulkBody(p))).toBe(true);
  });
});

describe('swaps under load on a 200,000-entry site', () => {
  it('no failed request, every body byte-identical to the version its ETag names, descriptors stable', async () => {
    const vhosts = tmpDir('large-vhosts-');
    swapLink(vhosts, files[1]!);
    const srv = await startHttpd(vhosts, ['--workers', '2']);
    try {
      const workers = new Set<number>();
      for (;;) {
        const l = await srv.waitForLog((x) => x.event === 'vhost-loaded' && !workers.has(x.pid as number));
        workers.add(l.pid as number);
        if (workers.size === 2) break;
      }
      for (let i = 0; i < 4; i++) await raw(srv.port, 'GET', '/index.html');
      const fdsBefore = new Map([...workers].map((pid) => [pid, fdCount(pid)]));

      const failures: string[] = [];
      const seen = new Set<number>();
      let requests = 0;
      let stop = false;
      const bulk = samplePaths(2000, 5);
      const check = (target: string, r: RawResponse): number | string => {
        if (target.startsWith('/d') && !target.startsWith('/d001/sub')) {
          if (r.status !== 200 || !r.body.equals(bulkBody(target))) return `${target}: status ${r.status}, wrong body`;
          return 0;
        }
        const known = byEtag.get(r.headers.etag ?? '');
        if (!known) return `${target}: status ${r.status}, unknown ETag ${r.headers.etag}`;
        if (known.path !== target) return `${target}: ETag of ${known.path}`;
        if (r.status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.headers['content-range'] ?? '');
          if (!m) return `${target}: bad Content-Range`;
          return r.body.equals(known.bytes.subarray(Number(m[1]), Number(m[2]) + 1)) ? known.version : `${target}: range not version ${known.version}`;
        }
        return r.status === 200 && r.body.equals(known.bytes) ? known.version : `${target}: status ${r.status} or body not version ${known.version}`;
      };
      const pick = (i: number): [string, Record<string, string>] => {
        if (i % 5 === 0) {
          const start = (i * 7919) % (BIG - 200_000);
          return ['/big.bin', { Range: `bytes=${start}-${start + 131_071}` }];
        }
        if (i % 5 === 1) return ['/app.css', {}];
        if (i % 5 === 2) return ['/index.html', {}];
        return [bulk[(i * 31) % bulk.length]!, {}];
      };
      const note = (target: string, r: RawResponse) => {
        requests++;
        const v = check(target, r);
        if (typeof v === 'number') {
          if (v > 0) seen.add(v);
        } else failures.push(v);
      };
      const { keepAlive, fresh } = swapLoadClients(srv.port, pick, note, failures, () => stop);
      const load = [keepAlive(0), keepAlive(1), keepAlive(2), fresh(3), fresh(4)];
      const order = [2, 1, 2, 1, 2, 1];
      for (const v of order) {
        await new Promise((r) => setTimeout(r, 400));
        swapLink(vhosts, files[v]!);
      }
      await new Promise((r) => setTimeout(r, 400));
      stop = true;
      await Promise.all(load);
      expect(failures).toEqual([]);
      expect(requests).toBeGreaterThan(200);
      expect([...seen].sort()).toEqual([1, 2]);
      await new Promise((r) => setTimeout(r, 300)); // retired webroots close once their last response ends
      for (const pid of workers) {
        expect(fdsTo(pid, '.webroot'), `worker ${pid}`).toBe(2); // one open version: its bytes and its index
        expect(fdCount(pid), `worker ${pid}`).toBeLessThanOrEqual(fdsBefore.get(pid)!);
      }
      console.log(`swap under load (${entries} entries): ${requests} requests checked across ${order.length} swaps, 0 failures; worker RSS ${[...workers].map((p) => MiB(rssBytes(p))).join(', ')}`);
    } finally {
      await srv.stop();
    }
  }, 90_000);
});
