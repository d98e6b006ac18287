import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hintsFrom, loadPageCacheAddon, WARM_CHUNK } from '../src/io/page-cache.js';

// The page-cache hints of a large site's lookups (io/page-cache.ts): preadv2(2) RWF_NOWAIT says whether
// a range is cached without reading the disk; posix_fadvise(2) POSIX_FADV_WILLNEED reads one in behind.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The file's pages in the page cache now (fincore: mincore(2)), or undefined without fincore. */
function cachedPages(file: string): number | undefined {
  const r = spawnSync('fincore', ['--noheadings', '--output', 'PAGES', file], { timeout: 10_000, encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}
const fincore = cachedPages(process.execPath) !== undefined;

/**
 * Drops a file from the page cache (fsync, then posix_fadvise DONTNEED; Node has no fadvise), again until
 * fincore counts none of its pages (bounded): under load a page read a moment ago can outlive one call.
 */
function drop(file: string): void {
  const code = 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)';
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('python3', ['-c', code, file], { timeout: 10_000 });
    expect(r.status, String(r.stderr)).toBe(0);
    if (cachedPages(file) === 0) return;
    spawnSync('sleep', ['0.1']);
  }
  expect(cachedPages(file), `${file} stays in the page cache after 20 drops`).toBe(0);
}

function writeSynced(file: string, bytes: Buffer): number {
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd); // written back, so that DONTNEED can drop every page
  return fd;
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (pred()) return true;
  return pred();
}

describe('page-cache hints (preadv2 RWF_NOWAIT, posix_fadvise WILLNEED)', () => {
  // On Linux the addon is built by `pnpm build`, and kernels since 5.9 answer RWF_NOWAIT reads: missing, it is a failure here.
  const addon = process.platform === 'linux' ? loadPageCacheAddon() : undefined;
  if (process.platform !== 'linux') console.log(`skipping the page-cache hints: they are Linux's (this is ${process.platform})`);

  if (process.platform === 'linux' && !fincore) console.log('skipping the page-cache drop checks: fincore is not installed (apt-get install util-linux-extra)');

  it.skipIf(process.platform !== 'linux')('the addon loads and the kernel answers RWF_NOWAIT reads', () => {
    expect(addon, 'the addon (packages/httpd/native) loads and the kernel answers RWF_NOWAIT reads').toBeDefined();
  });

  it.skipIf(process.platform !== 'linux' || !fincore)('resident: true for cached pages, false once dropped; never true past the end or beyond an index page', () => {
    const hints = hintsFrom(addon!);
    const file = path.join(dir, 'a.bin');
    const size = 8 << 20;
    const fd = writeSynced(file, Buffer.alloc(size, 7));
    try {
      fs.readSync(fd, Buffer.alloc(size), 0, size, 0);
      expect(hints.resident(fd, 4096, 4096)).toBe(true);
      expect(hints.resident(fd, 0, 64 * 1024)).toBe(true);
      expect(hints.resident(fd, 0, 128 * 1024)).toBe(false); // larger than any index page: never says yes
      expect(hints.resident(fd, size - 2048, 4096)).toBe(false); // runs past the end: fewer bytes than asked
      // A no-wait read of a page not cached starts reading it (and its readahead, as any read would) and says
      // false; on a fast disk that read can finish inside the call, which then returns the bytes. So: far-apart
      // pages, through a descriptor of its own (the one above has read the file in order: its readahead is wide),
      // and up to ten drops (under the full suite's load every read of one round once finished in time, and in a
      // fresh-clone CI run every read of three rounds did: the VM's disk completes them while the caller waits
      // for a CPU).
      const rounds: (boolean | undefined)[][] = [];
      for (let round = 0; round < 10 && !rounds.some((r) => r.includes(false)); round++) {
        drop(file);
        const fresh = fs.openSync(file, 'r');
        rounds.push(Array.from({ length: 32 }, (_, i) => hints.resident(fresh, (31 - i) * 256 * 1024 + 4096, 4096)));
        fs.closeSync(fresh);
      }
      expect(rounds.some((r) => r.includes(false)), JSON.stringify(rounds)).toBe(true);
      expect(rounds.flat().every((a) => a === true || a === false)).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it.skipIf(process.platform !== 'linux' || !fincore)('cached (cachestat(2), which async mode asks before a sendfile): 1 while every page of the range is cached, 0 once one is dropped', () => {
    const sendfileAddon = createRequire(import.meta.url)('../native/build/Release/webroot_sendfile.node') as { cached(fd: number, offset: number, length: number): number };
    const file = path.join(dir, 'c.bin');
    const size = 1 << 20;
    const fd = writeSynced(file, Buffer.alloc(size, 9));
    try {
      fs.readSync(fd, Buffer.alloc(size), 0, size, 0);
      expect(sendfileAddon.cached(fd, 0, size)).toBe(1);
      expect(sendfileAddon.cached(fd, 5000, 100_000)).toBe(1);
      drop(file);
      // It reads nothing, so (unlike a no-wait read) asking cannot bring a page in.
      expect(sendfileAddon.cached(fd, 0, size)).toBe(0);
      expect(sendfileAddon.cached(fd, 5000, 100_000)).toBe(0);
      expect(sendfileAddon.cached(fd, 5000, 100_000)).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it.skipIf(process.platform !== 'linux' || !fincore)(`warm: the range is read into the page cache in ${WARM_CHUNK >> 20} MiB steps, then done is called once`, async () => {
    const hints = hintsFrom(addon!);
    const file = path.join(dir, 'b.bin');
    const size = 3 * WARM_CHUNK + 12_288; // four steps, the last one short
    const fd = writeSynced(file, Buffer.alloc(size, 1));
    try {
      drop(file); // fincore counts none of its pages now
      let done = 0;
      hints.warm!(fd, 4096, size - 4096, () => done++);
      expect(done).toBe(0); // one step per turn of the event loop
      expect(await until(() => done === 1, 5_000)).toBe(true);
      // The reads finish in the background: every page of the range arrives (bounded wait; counted with
      // fincore, which reads nothing itself, where a no-wait read would start the read of what it asks).
      expect(await until(() => (cachedPages(file) ?? 0) >= (size - 4096) / 4096, 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(1);
    } finally {
      fs.closeSync(fd);
    }
  });

  it.skipIf(process.platform !== 'linux')('resident: undefined when the kernel answers neither bytes nor "not cached" (here EBADF)', () => {
    const hints = hintsFrom(addon!);
    const fd = fs.openSync(path.join(dir, 'a.bin'), 'r');
    fs.closeSync(fd);
    expect(hints.resident(fd, 0, 4096)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')('warm: a closed descriptor ends it at once (done, no throw)', () => {
    const hints = hintsFrom(addon!);
    const fd = fs.openSync(path.join(dir, 'a.bin'), 'r');
    fs.closeSync(fd);
    let done = 0;
    hints.warm!(fd, 0, 4 * WARM_CHUNK, () => done++);
    expect(done).toBe(1);
  });
});
