import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openWebroot, WARM_INTERVAL_MAX_MS, WARM_INTERVAL_MS, type PageCacheHints } from '../src/index.js';
import { LeafLocator, LeafPrefetcher } from '../src/reader/leaf-locator.js';
import { WebrootWriter } from '../src/writer/index.js';

// The read-ahead of an entry lookup leaf (FORMAT.md section 1.3) walks SQLite's B-tree pages
// itself (SQLite "Database File Format" sections 1.6 and 2.1): checked here against the pages.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-leaf-'));
  dirs.push(d);
  return d;
}

/** Fixed-width paths, so that one path's bytes are never part of another's. */
const pathOf = (i: number) => `/d${String(i % 50).padStart(2, '0')}/f${String(i).padStart(6, '0')}.txt`;

function writeSite(file: string, count: number): string {
  const w = new WebrootWriter(file);
  w.addDirectory('/', 1);
  for (let d = 0; d < Math.min(50, count); d++) w.addDirectory(`/d${String(d).padStart(2, '0')}`, 1);
  for (let i = 0; i < count; i++) w.addFile({ path: pathOf(i), mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(Buffer.from(pathOf(i))), variants: [] });
  w.finish({ generator: 'test', created: 1 });
  return file;
}

const dir = tmp();
const big = writeSite(path.join(dir, 'big.webroot'), 30_000); // three levels: root, interior pages, leaves

function pages(file: string) {
  const bytes = fs.readFileSync(file);
  const size = bytes.readUInt16BE(16);
  return { size, page: (n: number) => bytes.subarray((n - 1) * size, n * size) };
}

function rootOf(file: string): number {
  const w = openWebroot(file);
  try {
    return (w as unknown as { index: { entryLookupRoot(): number } }).index.entryLookupRoot();
  } finally {
    w.close();
  }
}

describe('LeafLocator: the leaf of a key, from the interior pages alone (SQLite file format 1.6, 2.1)', () => {
  it('for every path of a 30,000-entry table: a leaf page that holds it, or none when an interior page does', () => {
    const { size, page } = pages(big);
    let reads = 0;
    const locator = new LeafLocator((n) => (reads++, Buffer.from(page(n))), rootOf(big), size);
    let inInterior = 0;
    for (let i = 0; i < 30_000; i++) {
      const key = Buffer.from(pathOf(i));
      const leaf = locator.leafOf(key);
      if (leaf === undefined) {
        inInterior++;
        continue;
      }
      const p = page(leaf);
      expect(p[0]).toBe(0x0a); // an index leaf
      expect(p.includes(key)).toBe(true);
    }
    // Interior cells are a small share of the rows (one per leaf), and each interior page was read once.
    expect(inInterior).toBeGreaterThan(0);
    expect(inInterior).toBeLessThan(1000);
    expect(reads).toBeLessThan(40);
  });

  it('a key outside the table names the leaf where it would be, at either end', () => {
    const { size, page } = pages(big);
    const locator = new LeafLocator((n) => Buffer.from(page(n)), rootOf(big), size);
    for (const key of ['', '/', '/zzz', '\u{10ffff}']) {
      const leaf = locator.leafOf(Buffer.from(key));
      expect(leaf === undefined || page(leaf)[0] === 0x0a).toBe(true);
    }
  });

  it('leafSpan: the first and last leaves bound every leaf, and the table lies between them (written in key order)', () => {
    const { size, page } = pages(big);
    const locator = new LeafLocator((n) => Buffer.from(page(n)), rootOf(big), size);
    const span = locator.leafSpan()!;
    expect(page(span.first)[0]).toBe(0x0a);
    expect(page(span.last)[0]).toBe(0x0a);
    const leaves = new Set<number>();
    for (let i = 0; i < 30_000; i += 7) {
      const leaf = locator.leafOf(Buffer.from(pathOf(i)));
      if (leaf === undefined) continue;
      leaves.add(leaf);
      expect(leaf).toBeGreaterThanOrEqual(span.first);
      expect(leaf).toBeLessThanOrEqual(span.last);
    }
    // Every page between is the table's (a leaf or an interior page): the span is the table, not the file.
    let others = 0;
    for (let n = span.first; n <= span.last; n++) if (![0x0a, 0x02].includes(page(n)[0]!)) others++;
    expect(others).toBe(0);
    expect(leaves.size).toBeGreaterThan((span.last - span.first + 1) / 2);
  });

  it('refuses a page that is not an index B-tree page', () => {
    expect(() => new LeafLocator(() => Buffer.alloc(4096, 0x0d), 2, 4096)).toThrow(/not an index B-tree page/);
  });
});

describe('Webroot.prefetch: the leaf read ahead on the thread pool, a hint only', () => {
  it('resolves for a path not cached, is not needed once it is cached, and keeps the file open until read', async () => {
    const w = openWebroot(big);
    const p = pathOf(12_345);
    const pending = w.prefetch(p);
    expect(pending).toBeInstanceOf(Promise);
    w.retire(); // a swap while the read is in flight: the descriptor stays open until it is done
    await pending;
    expect(w.isClosed).toBe(true);
    const again = openWebroot(big);
    try {
      expect(again.lookup(p)?.kind).toBe('file');
      expect(again.prefetch(p)).toBeUndefined(); // cached, found
      expect(again.lookup('/missing')).toBeUndefined();
      expect(again.prefetch('/missing')).toBeUndefined(); // cached, absent
    } finally {
      again.close();
    }
    expect(again.prefetch(pathOf(1))).toBeUndefined(); // closed
  });

  it('with page-cache hints: nothing to read when the page is in memory; otherwise the read, and the whole table asked in once per interval', async () => {
    const calls: { resident: number[]; warm: [number, number, number][] } = { resident: [], warm: [] };
    let finishWarm: () => void = () => {};
    const hints = (resident: boolean): PageCacheHints => ({
      resident(fd, position, size) {
        calls.resident.push(position);
        expect(size).toBe(pages(big).size);
        return resident;
      },
      warm(fd, position, length, done) {
        calls.warm.push([fd, position, length]);
        finishWarm = done;
      },
    });
    const w = openWebroot(big);
    const { size } = pages(big);
    expect(w.prefetch(pathOf(100), hints(true))).toBeUndefined(); // in memory: the lookup reads it at once
    expect(calls.warm).toHaveLength(0);
    const pending = w.prefetch(pathOf(200), hints(false));
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(calls.resident).toHaveLength(2);
    expect(calls.warm).toHaveLength(1);
    const [, position, length] = calls.warm[0]!;
    // The span holds the leaf each probe asked about, and is whole pages of the index, not the file.
    for (const at of calls.resident) expect(at >= position && at < position + length).toBe(true);
    expect(position % size).toBe(0);
    expect(length % size).toBe(0);
    expect(length).toBeLessThan(fs.statSync(big).size);
    // Within WARM_INTERVAL_MS the table is not asked for again.
    await w.prefetch(pathOf(300), hints(false));
    expect(calls.warm).toHaveLength(1);
    expect(WARM_INTERVAL_MS).toBeGreaterThan(0);
    // The descriptor stays open for the warm-up until it says it is done.
    const fd = calls.warm[0]![0];
    w.retire();
    expect(() => fs.fstatSync(fd)).not.toThrow();
    finishWarm();
    expect(w.isClosed).toBe(true);
  });

  it('hints that cannot say (undefined): read ahead only when asked to, and the table never asked in', async () => {
    let warms = 0;
    const unknown: PageCacheHints = { resident: () => undefined, warm: (_fd, _p, _l, done) => (warms++, done()) };
    const w = openWebroot(big);
    try {
      expect(w.prefetch(pathOf(400), unknown, false)).toBeUndefined(); // sync, stream: look up as without hints
      const pending = w.prefetch(pathOf(500), unknown, true); // async: read ahead as without hints
      expect(pending).toBeInstanceOf(Promise);
      await pending;
      expect(warms).toBe(0);
    } finally {
      w.close();
    }
  });

  it('the table is asked in again only after WARM_INTERVAL_MS, then after twice as long each time, up to WARM_INTERVAL_MAX_MS', async () => {
    let warms = 0;
    const cold: PageCacheHints = { resident: () => false, warm: (_fd, _p, _l, done) => (warms++, done()) };
    const w = openWebroot(big);
    let now = 1_000_000_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      let i = 1000;
      const miss = async () => await w.prefetch(pathOf(i++), cold);
      await miss();
      expect(warms).toBe(1);
      let wait = WARM_INTERVAL_MS;
      for (let round = 2; round <= 9; round++) {
        now += wait - 1;
        await miss();
        expect(warms, `round ${round}, ${wait - 1} ms after`).toBe(round - 1);
        now += 1;
        await miss();
        expect(warms, `round ${round}, ${wait} ms after`).toBe(round);
        wait = Math.min(wait * 2, WARM_INTERVAL_MAX_MS);
      }
      expect(wait).toBe(WARM_INTERVAL_MAX_MS);
    } finally {
      clock.mockRestore();
      w.close();
    }
  });

  it('readsAhead: only a file with the table and more entries than the entry cache holds', () => {
    const w = openWebroot(big);
    const capped = openWebroot(big, { cacheEntries: 40_000 });
    const small = openWebroot(writeSite(path.join(tmp(), 'few.webroot'), 100));
    try {
      expect([w.readsAhead, capped.readsAhead, small.readsAhead]).toEqual([true, false, false]);
    } finally {
      [w, capped, small].forEach((x) => x.close());
    }
  });

  it('nothing to read ahead in a file without the entry lookup table', () => {
    const w = openWebroot(new URL('./fixtures/v2-no-entry-lookup.webroot', import.meta.url).pathname, { cacheEntries: 1 });
    try {
      expect(w.readsAhead).toBe(false); // more entries than its cache holds, but no table
      expect(w.prefetch('/a/both.txt')).toBeUndefined();
      expect(w.lookup('/a/both.txt')?.kind).toBe('file');
    } finally {
      w.close();
    }
  });

  it('a tree it cannot walk turns it off, and lookups still answer', () => {
    const file = writeSite(path.join(tmp(), 'small.webroot'), 10);
    const fd = fs.openSync(file, 'r');
    try {
      const broken = new LeafPrefetcher(fd, 1_000_000); // no such page: a short read
      expect(broken.leafOf(pathOf(1))).toBeUndefined();
      expect(broken.leafOf(pathOf(2))).toBeUndefined();
    } finally {
      fs.closeSync(fd);
    }
    const w = openWebroot(file);
    try {
      expect(w.lookup(pathOf(3))?.kind).toBe('file');
    } finally {
      w.close();
    }
  });
});
