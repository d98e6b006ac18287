// Sites of 200,000 files (issue 15): the reader looks entries up on demand, so
// opening costs the same as for ten files; these tests check behaviour through
// the real server. Open time and memory are printed, not asserted.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import fs from 'node:fs';
import path from 'node:path';
import { etagFromHash, openWebroot, type FileEntry } from '@webroot/format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { fdCount, fdsTo, rssBytes } from './helpers/proc.js';
import { DIRECTORIES, FILES_PER_DIR, bulkBody, dirName, filePath, writeLargeWebroot } from './helpers/large-site.js';
import { KeepAliveClient, raw, rawRequests, type RawResponse } from './helpers/raw.js';
import { swapLoadClients } from './helpers/swap-load.js';
import { until } from './helpers/until.js';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { h2Connect, h2Request } from './helpers/h2.js';
import { loadPageCacheAddon } from '../packages/httpd/src/io/page-cache.js';
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
    const started = performance.now();
    entries = writeLargeWebroot(files[v]!, versioned(v)).entries;
    console.log(`wrote ${entries} entries (v${v}) in ${Math.round(performance.now() - started)} ms, ${MiB(fs.statSync(files[v]!).size)}`);
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

/** Runs a python3 snippet with `args` (Node has neither posix_fadvise nor SQLite's dbstat); its stdout. */
function python(code: string, ...args: string[]): string {
  const r = spawnSync('python3', ['-c', code, ...args], { timeout: 20_000, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}
/** Drops a file from the page cache (fsync, so that every page is clean, then posix_fadvise DONTNEED). */
const dropFromPageCache = (file: string) => python('import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)', file);
/** The pages of the entry lookup table (FORMAT.md section 1.3), from SQLite's own page map (dbstat), independent of ours. */
function entryLookupPages(file: string): { first: number; last: number; count: number; size: number } {
  const out = python("import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro&immutable=1', uri=True); print(*c.execute(\"select min(pageno), max(pageno), count(*) from dbstat where name='entry_lookup'\").fetchone(), c.execute('pragma page_size').fetchone()[0])", file);
  const [first, last, count, size] = out.trim().split(' ').map(Number) as [number, number, number, number];
  return { first, last, count, size };
}
/** Bytes read by a process's threads other than its main one (the thread pool's; /proc/PID/task/TID/io rchar). */
function threadPoolReads(pid: number): number {
  let sum = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (Number(tid) === pid) continue;
    try {
      sum += Number(/rchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/io`, 'utf8'))![1]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return sum;
}

/**
 * How long the entry lookup table may take to arrive in the page cache by itself (the worker's WILLNEED, in
 * 2 MiB steps): seconds alone, but in the full suite its reads queue behind the other files' disk IO, and one
 * run (session 9) passed 15 s. The two tests that wait for it have a timeout of their own above this.
 */
const TABLE_ARRIVES_MS = 45_000;

describe('--io sync on a 200,000-entry webroot whose index is not in memory (preadv2 RWF_NOWAIT, posix_fadvise WILLNEED)', () => {
  const addon = process.platform === 'linux' ? loadPageCacheAddon() : undefined;
  const fincore = spawnSync('fincore', ['--version'], { timeout: 10_000 }).status === 0;
  if (!fincore) console.log('skipping the cold-index tests: fincore is not installed (apt-get install util-linux-extra)');
  // dbstat reads every page of the index: asked once, before any page is dropped.
  let pages: ReturnType<typeof entryLookupPages> | undefined;
  const table = () => (pages ??= entryLookupPages(files[2]!));
  /** The file's pages in the page cache now (fincore: mincore(2); a probe by reading would start reads itself). */
  function cachedPages(): number {
    const r = spawnSync('fincore', ['--noheadings', '--output', 'PAGES', files[2]!], { timeout: 10_000, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return Number(r.stdout.trim());
  }
  /** Cached pages as a share of the entry lookup table's. */
  const residentShare = () => cachedPages() / table().count;
  /** GETs of `paths` (exact bytes) with the file dropped from the page cache first; the bytes the thread pool read meanwhile. */
  async function coldRequests(srv: RunningHttpd, paths: [number, number][], get = (p: string) => raw(srv.port, 'GET', p)): Promise<number> {
    table();
    // First, while the file is cached, each path's neighbours: the server's reads of the tree's interior pages on
    // their way (read once and kept) come before the drop, so that the kernel's read-around of one of those cannot
    // bring a leaf in after it.
    for (const [d, f] of paths) for (const n of [f - 1, f + 1]) expect((await get(filePath(d, n))).status).toBe(200);
    // Twice: pages read a moment ago can still be held (a per-CPU LRU batch, a read finishing) and stay the first time.
    dropFromPageCache(files[2]!);
    await new Promise((r) => setTimeout(r, 200));
    dropFromPageCache(files[2]!);
    expect(residentShare()).toBeLessThan(0.05);
    const before = threadPoolReads(srv.proc.pid!);
    for (const p of paths.map(([d, f]) => filePath(d, f))) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.body.equals(bulkBody(p)), p).toBe(true);
    }
    const read = threadPoolReads(srv.proc.pid!) - before;
    console.log(`cold requests: ${read} bytes read by the thread pool, ${cachedPages()} pages cached after them`);
    return read;
  }

  /**
   * coldRequests over up to three sets of paths, until one set's leaves were read on the thread pool: a no-wait
   * read of a page not cached starts reading it, and on this fast virtual disk that read can finish inside the
   * call (the server then rightly sees the page cached), which under the full suite's load once happened for
   * every path of a set.
   */
  async function coldUntilPool(srv: RunningHttpd, sets: [number, number][][], get?: Parameters<typeof coldRequests>[2]): Promise<number> {
    let read = 0;
    for (const paths of sets) {
      read = await coldRequests(srv, paths, get);
      if (read >= table().size) break;
    }
    return read;
  }

  it.skipIf(process.platform !== 'linux' || !fincore)('lookups whose index pages are not cached read them on the thread pool, and ask the whole table into the page cache', async () => {
    expect(addon, 'the addon (packages/httpd/native) loads and the kernel answers RWF_NOWAIT reads').toBeDefined();
    const vhosts = tmpDir('large-cold-vhosts-');
    swapLink(vhosts, files[2]!);
    const srv = await startHttpd(vhosts, ['--workers', '0', '--io', 'sync']);
    try {
      expect(table().count).toBeGreaterThan(1000);
      const poolRead = await coldUntilPool(srv, [
        [[77, 777], [150, 15], [190, 901]],
        [[33, 333], [101, 5], [170, 605]],
        [[44, 444], [131, 8], [160, 505]],
      ]);
      expect(poolRead).toBeGreaterThanOrEqual(table().size); // leaves, read off the event loop
      // The table arrives by itself, in the background (bounded wait), with no more requests.
      await until('95% of the entry lookup table in the page cache', () => (residentShare() > 0.95 ? true : undefined), TABLE_ARRIVES_MS);
      // Served from it: every sample path, exact bytes.
      for (const p of samplePaths(50, 21)) expect((await raw(srv.port, 'GET', p)).body.equals(bulkBody(p)), p).toBe(true);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  }, TABLE_ARRIVES_MS + 45_000);

  it.skipIf(process.platform !== 'linux' || !fincore || opensslMissing !== undefined)('HTTP/2 streams too: the index pages not cached are read on the thread pool first, and the table asked in', async () => {
    const vhosts = tmpDir('large-cold-h2-vhosts-');
    swapLink(vhosts, files[2]!);
    const certs = tmpDir('large-cold-certs-');
    makeCert(certs, '__default__', { cn: 'localhost' });
    const srv = await startHttpd(vhosts, ['--workers', '0', '--io', 'sync', '--tls-port', '0', '--certs', certs]);
    const session = await h2Connect(srv.tlsPort!);
    try {
      const sets: [number, number][][] = [
        [[60, 600], [120, 12], [180, 801]],
        [[66, 666], [125, 9], [185, 707]],
        [[55, 555], [115, 3], [175, 404]],
      ];
      expect(await coldUntilPool(srv, sets, (p) => h2Request(session, 'GET', p))).toBeGreaterThanOrEqual(table().size);
      await until('95% of the entry lookup table in the page cache', () => (residentShare() > 0.95 ? true : undefined), TABLE_ARRIVES_MS);
      // A stream reset while its index page is being read: the worker stays up and answers the next one.
      dropFromPageCache(files[2]!);
      const doomed = session.request({ ':path': filePath(61, 610) });
      doomed.on('error', () => {});
      doomed.close(http2.constants.NGHTTP2_CANCEL);
      expect((await h2Request(session, 'GET', filePath(61, 611))).body.equals(bulkBody(filePath(61, 611)))).toBe(true);
    } finally {
      session.close();
      expect(await srv.stop()).toBe(0);
    }
  }, TABLE_ARRIVES_MS + 45_000);

  it.skipIf(process.platform !== 'linux' || !fincore)('without the hints (WEBROOT_PAGE_CACHE_PROBE=off) sync mode reads the page itself, on the event loop, and nothing more', async () => {
    const vhosts = tmpDir('large-cold-off-vhosts-');
    swapLink(vhosts, files[2]!);
    const srv = await startHttpd(vhosts, ['--workers', '0', '--io', 'sync'], { WEBROOT_PAGE_CACHE_PROBE: 'off' });
    try {
      expect(await coldRequests(srv, [[78, 778], [151, 16], [191, 902]])).toBe(0);
      await new Promise((r) => setTimeout(r, 1000));
      expect(residentShare()).toBeLessThan(0.5);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
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
