import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hintsFrom, loadPageCacheAddon, WARM_CHUNK } from '../src/io/page-cache.js';

// The page-cache hints of a large site's lookups (io/page-cache.ts): preadv2(2) RWF_NOWAIT says whether
// a range is cached without reading the disk; posix_fadvise(2) POSIX_FADV_WILLNEED reads one in behind.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Drops a file's pages from `from` on from the page cache (posix_fadvise DONTNEED: clean pages, no root needed); Node has no fadvise. */
function drop(file: string, from = 0): void {
  const r = spawnSync('python3', ['-c', 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, int(sys.argv[2]), 0, os.POSIX_FADV_DONTNEED)', file, String(from)], { timeout: 10_000 });
  expect(r.status, String(r.stderr)).toBe(0);
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

  it.skipIf(process.platform !== 'linux')('resident: true for cached pages, false once dropped, false for a range cached only in part', () => {
    expect(addon, 'the addon (packages/httpd/native) loads and the kernel answers RWF_NOWAIT reads').toBeDefined();
    const hints = hintsFrom(addon!);
    const file = path.join(dir, 'a.bin');
    const fd = writeSynced(file, Buffer.alloc(1 << 20, 7));
    try {
      fs.readSync(fd, Buffer.alloc(1 << 20), 0, 1 << 20, 0);
      expect(hints.resident(fd, 4096, 4096)).toBe(true);
      drop(file);
      expect(hints.resident(fd, 4096, 4096)).toBe(false);
      fs.readSync(fd, Buffer.alloc(1 << 20), 0, 1 << 20, 0);
      drop(file, 4096); // the first page stays
      expect(hints.resident(fd, 0, 4096)).toBe(true);
      expect(hints.resident(fd, 0, 8192)).toBe(false);
      expect(hints.resident(fd, 0, 128 * 1024)).toBe(false); // larger than any index page: never says yes
      expect(hints.resident(fd, 2 << 20, 4096)).toBe(false); // past the end: nothing read
    } finally {
      fs.closeSync(fd);
    }
  });

  it.skipIf(process.platform !== 'linux')(`warm: the range is read into the page cache in ${WARM_CHUNK >> 20} MiB steps, then done is called once`, async () => {
    const hints = hintsFrom(addon!);
    const file = path.join(dir, 'b.bin');
    const size = 3 * WARM_CHUNK + 12_288; // four steps, the last one short
    const fd = writeSynced(file, Buffer.alloc(size, 1));
    try {
      drop(file);
      expect(hints.resident(fd, 0, 4096)).toBe(false);
      let done = 0;
      hints.warm!(fd, 4096, size - 4096, () => done++);
      expect(done).toBe(0); // one step per turn of the event loop
      expect(await until(() => done === 1, 5_000)).toBe(true);
      const pagesIn = () => {
        let n = 0;
        for (let at = 4096; at < size; at += 4096) if (hints.resident(fd, at, 4096)) n++;
        return n;
      };
      // The reads finish in the background: every page of the range arrives (bounded wait), the page before it need not.
      expect(await until(() => pagesIn() === (size - 4096) / 4096, 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(1);
    } finally {
      fs.closeSync(fd);
    }
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
