import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { BoundedCache, comparePaths, openWebroot, type FileEntry } from '../src/index.js';
import { WebrootWriter } from '../src/writer/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-ondemand-'));
  dirs.push(d);
  return d;
}

/** Writes a webroot holding `paths` (files; their directories are added), each file's bytes its own path. */
function writeSite(file: string, paths: string[]): string {
  const w = new WebrootWriter(file);
  const dirSet = new Set(['/']);
  for (const p of paths) {
    for (let i = p.indexOf('/', 1); i !== -1; i = p.indexOf('/', i + 1)) dirSet.add(p.slice(0, i));
    w.addFile({ path: p, mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(Buffer.from(p)), variants: [] });
  }
  for (const d of dirSet) w.addDirectory(d, 1);
  w.finish({ generator: 'test', created: 1 });
  return file;
}

describe('children(dir): one directory, in path order, skipping subdirectories whole', () => {
  // '!' (0x21) and '.' (0x2e) sort before '/', '0' (0x30) after it: the skip past '/a/...' must not lose '/a0'.
  const file = writeSite(path.join(tmp(), 'names.webroot'), ['/a/b', '/a/c/d', '/a/c/e/f', '/a!', '/a.txt', '/a0', '/b', '/é', '/𝄞', '/\uffff']);
  it.each([
    ['/', ['/a', '/a!', '/a.txt', '/a0', '/b', '/é', '/\uffff', '/𝄞']],
    ['/a', ['/a/b', '/a/c']],
    ['/a/c', ['/a/c/d', '/a/c/e']],
    ['/a/c/e', ['/a/c/e/f']],
    ['/b', []],
    ['/missing', []],
  ])('children(%s)', (dir, expected) => {
    const w = openWebroot(file);
    try {
      expect(w.children(dir).map((e) => e.path)).toEqual(expected);
    } finally {
      w.close();
    }
  });

  it('across pages (more children than one query reads), with every subdirectory skipped', () => {
    const paths: string[] = [];
    for (let i = 0; i < 1300; i++) paths.push(`/d/f${String(i).padStart(4, '0')}`);
    for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) paths.push(`/d/s${String(i).padStart(2, '0')}/x${j}`);
    const w = openWebroot(writeSite(path.join(tmp(), 'pages.webroot'), paths));
    try {
      const kids = w.children('/d');
      expect(kids).toHaveLength(1340);
      expect(kids.filter((e) => e.kind === 'directory')).toHaveLength(40);
      expect(kids.map((e) => e.path)).toEqual([...kids.map((e) => e.path)].sort(comparePaths));
    } finally {
      w.close();
    }
  });
});

describe('all(): every entry in path order, a page at a time, with lookups in between', () => {
  it('lists 2,000 entries in comparePaths order while the same webroot answers lookups', () => {
    const paths = Array.from({ length: 1999 }, (_, i) => `/p${(i * 7919) % 1999}`);
    const w = openWebroot(writeSite(path.join(tmp(), 'all.webroot'), paths));
    try {
      const listed: string[] = [];
      for (const e of w.all()) {
        listed.push(e.path);
        expect(w.lookup(e.path)?.path).toBe(e.path); // no statement stays open across a yield
      }
      expect(listed).toHaveLength(2000);
      expect(listed).toEqual([...listed].sort(comparePaths));
    } finally {
      w.close();
    }
  });
});

describe('comparePaths: the bytewise UTF-8 order SQLite lists paths in', () => {
  it.each([
    ['/a', '/b', -1],
    ['/a', '/a', 0],
    ['/a', '/a/b', -1],
    ['/a!', '/a/', -1],
    ['/a/', '/a0', -1],
    ['/\uffff', '/𝄞', -1], // JS '<' says the opposite: '\ud834' < '\uffff'
    ['/é', '/\uffff', -1],
    ['/𝄞', '/𝄟', -1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(comparePaths(a, b))).toBe(sign);
    expect(Math.sign(comparePaths(b, a))).toBe(-sign || 0);
    expect(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))).toBe(sign);
  });
});

describe('the entry cache is bounded', () => {
  it('keeps at most its capacity, and a hit survives the next eviction (second chance)', () => {
    const c = new BoundedCache<string, number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a is flagged
    c.set('d', 4); // evicts b (a had its second chance)
    expect(c.size).toBe(3);
    expect(c.has('a')).toBe(true);
    expect(c.has('b')).toBe(false);
    expect([c.get('c'), c.get('d')]).toEqual([3, 4]);
  });

  // CLOCK over a ring: [operations, the keys (and values) left]. 'k' sets k (to its index), 'k=v' sets k to v, '?k' gets k.
  const clockCases: [number, string[], Record<string, number>][] = [
    [2, ['a', 'b', 'c'], { b: 1, c: 2 }], // nothing flagged: the oldest goes
    [2, ['a', 'b', '?a', 'c'], { a: 0, c: 3 }], // a's flag spares it once
    [2, ['a', 'b', '?a', 'c', 'd'], { c: 3, d: 4 }], // ... only once: its flag was cleared
    [2, ['a', 'b', '?a', '?b', 'c'], { b: 1, c: 4 }], // every slot flagged: the hand clears all and takes the first
    [2, ['a=1', 'b=2', 'a=3'], { a: 3, b: 2 }], // a known key is updated in place, nothing evicted
    [1, ['a', '?a', 'b', '?b', 'c'], { c: 4 }],
  ];
  for (const [capacity, ops, left] of clockCases) {
    it(`capacity ${capacity}, ${ops.join(' ')}: leaves ${JSON.stringify(left)}`, () => {
      const c = new BoundedCache<string, number>(capacity);
      ops.forEach((op, i) => {
        if (op.startsWith('?')) c.get(op.slice(1));
        else if (op.includes('=')) c.set(op.split('=')[0]!, Number(op.split('=')[1]));
        else c.set(op, i);
      });
      expect(c.size).toBe(Object.keys(left).length);
      for (const [k, v] of Object.entries(left)) expect(c.get(k)).toBe(v);
    });
  }

  it('a hot set survives 100,000 misses in a 32,768-entry cache, which stays at its capacity', () => {
    const c = new BoundedCache<number, number>(32_768);
    for (let i = 0; i < 100_000; i++) {
      c.set(1000 + i, i);
      c.get(i % 100); // keys 0-99, set first below, are hit all along
      if (i < 100) c.set(i, -i);
    }
    expect(c.size).toBe(32_768);
    for (let k = 0; k < 100; k++) expect(c.get(k)).toBe(-k);
    expect(c.has(1000)).toBe(false);
    expect(c.get(1000 + 99_999)).toBe(99_999);
  });

  it('a webroot opened with cacheEntries: 10 serves 500 lookups correctly and shares objects between cached entries', () => {
    const paths = Array.from({ length: 500 }, (_, i) => `/f${i}`);
    const w = openWebroot(writeSite(path.join(tmp(), 'cache.webroot'), paths), { cacheEntries: 10 });
    try {
      for (let round = 0; round < 2; round++) {
        for (const p of paths) {
          const e = w.lookup(p) as FileEntry;
          expect(w.readObjectSync(e.object).toString()).toBe(p);
        }
      }
      expect(w.lookup('/f1')).toBe(w.lookup('/f1')); // a cached entry is the same object
    } finally {
      w.close();
    }
  });
});

describe('a large index is checked row by row as it is read, and whole by verify()', () => {
  /** A good file, then one file entry's object pointed past the data region. */
  function corruptCopy(): string {
    const dir = tmp();
    const good = writeSite(path.join(dir, 'good.webroot'), ['/ok.txt', '/bad.txt']);
    const bytes = fs.readFileSync(good);
    const db = new Database(bytes.subarray(0, 65536)); // the writer's default reservation: the index is in there
    db.prepare("UPDATE objects SET offset = 1000000 WHERE id = (SELECT object_id FROM entries WHERE path = '/bad.txt')").run();
    // The entry lookup table (FORMAT.md section 1.3) is what a lookup reads: the same object, as its row holds it.
    db.prepare("UPDATE entry_lookup SET offset = 1000000 WHERE path = '/bad.txt'").run();
    const image = db.serialize();
    db.close();
    const out = path.join(dir, 'bad.webroot');
    const copy = Buffer.from(bytes);
    image.copy(copy, 0);
    fs.writeFileSync(out, copy);
    return out;
  }

  it('small: refused on open; large (fullCheckEntries: 0): opens, the good row serves, the bad row is WEBROOT_CORRUPT_INDEX, verify names it', () => {
    const bad = corruptCopy();
    expect(() => openWebroot(bad)).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringContaining('outside the data region') }));
    const w = openWebroot(bad, { fullCheckEntries: 0 });
    try {
      expect(w.readObjectSync((w.lookup('/ok.txt') as FileEntry).object).toString()).toBe('/ok.txt');
      expect(() => w.lookup('/bad.txt')).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringContaining('rebuild it with mkroot') }));
      const report = w.verify();
      expect(report.ok).toBe(false);
      expect(report.problems.join('\n')).toContain('outside the data region');
    } finally {
      w.close();
    }
  });

  it('the index connection reads the opened inode, not whatever the path names later', () => {
    const dir = tmp();
    const a = writeSite(path.join(dir, 'a.webroot'), ['/only-in-a']);
    const b = writeSite(path.join(dir, 'b.webroot'), ['/only-in-b']);
    const live = path.join(dir, 'live.webroot');
    fs.copyFileSync(a, live);
    const w = openWebroot(live, { cacheEntries: 1 });
    try {
      fs.renameSync(b, live); // the path now names another file
      w.lookup('/'); // evicts anything cached for the next lookups
      expect(w.lookup('/only-in-a')?.kind).toBe('file');
      expect(w.lookup('/only-in-b')).toBeUndefined();
    } finally {
      w.close();
    }
  });
});

describe('out of descriptors', () => {
  it('an index connection that cannot get a descriptor is WEBROOT_UNREADABLE, not a corrupt file', () => {
    // In a child with a low descriptor limit: use up all but one, so the reader's own open succeeds and SQLite's fails.
    const file = writeSite(path.join(tmp(), 'fds.webroot'), ['/a']);
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      const fs = require('node:fs');
      import(${JSON.stringify(dist)}).then(({ openWebroot }) => {
        openWebroot(${JSON.stringify(file)}).close(); // as in a running server: SQLite's native module is loaded
        const held = [];
        try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
        fs.closeSync(held.pop());
        try { openWebroot(${JSON.stringify(file)}); console.log('opened'); } catch (e) { console.log(e.code + ' ' + e.message); }
      });`;
    const r = spawnSync('bash', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim()).toMatch(/^WEBROOT_UNREADABLE .*fds\.webroot: cannot open its index .*out of file descriptors/);
  });
});
