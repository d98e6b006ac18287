import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ENTRY_LOOKUP_TABLE, openWebroot, type Entry, type Webroot } from '../src/index.js';
import { WebrootWriter } from '../src/writer/index.js';

// FORMAT.md section 1.3: the entry lookup table, one row per entry with everything a response needs,
// so that a lookup reads one B-tree leaf. Derived data: the same entries as through entries, objects
// and variants, which is what a file without the table (an earlier writer's) is read through.

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-entry-lookup-'));
  dirs.push(d);
  return d;
}

const TEXT = Buffer.from('some text, stored once for two paths\n'.repeat(30));

/** Files with and without variants, shared bytes, an empty file, two types, directories. */
function writeSite(file: string, entryLookup: boolean): string {
  const w = new WebrootWriter(file, { entryLookup });
  const text = w.addObject(TEXT);
  for (const d of ['/', '/a', '/a/b']) w.addDirectory(d, 1_700_000_000);
  w.addFile({
    path: '/a/both.txt',
    mtime: 1_700_000_001,
    mime: 'text/plain; charset=utf-8',
    object: text,
    variants: [
      { encoding: 'gzip', object: w.addObject(Buffer.from('pretend gzip')) },
      { encoding: 'br', object: w.addObject(Buffer.from('pretend br')) },
    ],
  });
  w.addFile({ path: '/a/b/gzip-only.txt', mtime: 1_700_000_002, mime: 'text/plain; charset=utf-8', object: text, variants: [{ encoding: 'gzip', object: w.addObject(Buffer.from('another gzip')) }] });
  w.addFile({ path: '/data.bin', mtime: 1_700_000_003, mime: 'application/octet-stream', object: w.addObject(Buffer.alloc(300, 7)), variants: [] });
  w.addFile({ path: '/empty', mtime: 1_700_000_004, mime: 'application/octet-stream', object: w.addObject(Buffer.alloc(0)), variants: [] });
  w.addFile({ path: '/é 𝄞.html', mtime: 1_700_000_005, mime: 'text/html; charset=utf-8', object: w.addObject(Buffer.from('<p>hi')), variants: [] });
  w.finish({ generator: 'test', created: 1_700_000_000 });
  return file;
}

const PATHS = ['/', '/a', '/a/b', '/a/both.txt', '/a/b/gzip-only.txt', '/data.bin', '/empty', '/é 𝄞.html', '/missing', '/a/both.txt/', '/A', ''];

/** An entry as plain data, objects by offset, length, hash and ETag. */
function plain(e: Entry | undefined): unknown {
  if (e === undefined || e.kind === 'directory') return e && { ...e };
  const o = (x: { offset: number; length: number; hash: Buffer; etag: string }) => ({ offset: x.offset, length: x.length, hash: x.hash.toString('hex'), etag: x.etag });
  return { ...e, object: o(e.object), variants: e.variants.map((v) => ({ encoding: v.encoding, object: o(v.object) })) };
}

const hasTable = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_schema WHERE name = ?").pluck().get(ENTRY_LOOKUP_TABLE) === 1;
  } finally {
    db.close();
  }
};

function withWebroot<T>(file: string, fn: (w: Webroot) => T): T {
  const w = openWebroot(file);
  try {
    return fn(w);
  } finally {
    w.close();
  }
}

describe('the entry lookup table (FORMAT.md section 1.3)', () => {
  const dir = tmp();
  const withTable = writeSite(path.join(dir, 'with.webroot'), true);
  const without = writeSite(path.join(dir, 'without.webroot'), false);

  it('is written by default and left out with entryLookup: false', () => {
    expect(hasTable(withTable)).toBe(true);
    expect(hasTable(without)).toBe(false);
  });

  it.each(PATHS)('lookup(%j) gives the same entry through the table as through entries, objects and variants', (p) => {
    const a = withWebroot(withTable, (w) => plain(w.lookup(p)));
    const b = withWebroot(without, (w) => plain(w.lookup(p)));
    expect(a).toEqual(b);
    if (['/missing', '/a/both.txt/', '/A', ''].includes(p)) expect(a).toBeUndefined();
    else expect(a).toBeDefined();
  });

  it('variants come in ENCODINGS order (br, then gzip) and serve their own bytes', () => {
    withWebroot(withTable, (w) => {
      const e = w.lookup('/a/both.txt');
      if (e?.kind !== 'file') throw new Error('not a file');
      expect(e.variants.map((v) => v.encoding)).toEqual(['br', 'gzip']);
      expect(w.readObjectSync(e.variants[0]!.object).toString()).toBe('pretend br');
      expect(w.readObjectSync(e.object)).toEqual(TEXT);
      // Entries sharing bytes share one StoredObject while cached.
      const other = w.lookup('/a/b/gzip-only.txt');
      expect(other?.kind === 'file' && other.object).toBe(e.object);
    });
  });

  it('verify checks the table against the tables it is derived from', () => {
    expect(withWebroot(withTable, (w) => w.verify())).toMatchObject({ ok: true, problems: [] });
    expect(withWebroot(without, (w) => w.verify())).toMatchObject({ ok: true, problems: [] });
  });
});

describe('an entry lookup table that contradicts the index is refused (FORMAT.md section 1.3)', () => {
  /** A copy of the sample with `sql` run on its index in place. */
  const edited = (name: string, sql: string) => {
    const file = writeSite(path.join(tmp(), `${name}.webroot`), true);
    const db = new Database(file);
    db.pragma('foreign_keys = OFF'); // a broken file, as a bad disk or a hand edit makes one
    db.exec(sql);
    db.close();
    return file;
  };

  it.each([
    ['a type entry_types does not hold', "UPDATE entry_lookup SET type = 9 WHERE path = '/data.bin'", '/data.bin', /type 9, which entry_types does not hold/],
    ['an object outside the data region', "UPDATE entry_lookup SET offset = 1000000000 WHERE path = '/data.bin'", '/data.bin', /outside the data region/],
    ['a malformed hash', "UPDATE entry_lookup SET hash = x'00' WHERE path = '/data.bin'", '/data.bin', /malformed hash/],
    ['a file without its object', "UPDATE entry_lookup SET offset = NULL, length = NULL, hash = NULL WHERE path = '/data.bin'", '/data.bin', /has no stored object/],
    ['half a variant', "UPDATE entry_lookup SET br_hash = NULL WHERE path = '/a/both.txt'", '/a/both.txt', /variant br of \/a\/both\.txt has no stored object/],
  ])('lookup of a row with %s throws WEBROOT_CORRUPT_INDEX naming the problem', (_what, sql, p, message) => {
    withWebroot(edited('row', sql), (w) => {
      let err: unknown;
      try {
        w.lookup(p);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringMatching(message) });
      expect((err as Error).message).toContain('rebuild it with mkroot');
    });
  });

  it.each([
    ['a row whose mtime differs from its entry', "UPDATE entry_lookup SET mtime = 5 WHERE path = '/data.bin'", /entry_lookup row "\/data\.bin" does not match/],
    ['a missing row', "DELETE FROM entry_lookup WHERE path = '/empty'", /entry_lookup has no row matching entry "\/empty"/],
    ['a row of no entry', "INSERT INTO entry_lookup (path, mtime) VALUES ('/ghost', 1)", /entry_lookup row "\/ghost" does not match/],
    ['a variant the variants table does not have', "UPDATE entry_lookup SET br_offset = gzip_offset, br_length = gzip_length, br_hash = gzip_hash WHERE path = '/a/b/gzip-only.txt'", /entry_lookup row "\/a\/b\/gzip-only\.txt" does not match/],
    ['an extra type', "INSERT INTO entry_types (mime) VALUES ('text/x-unused')", /entry_types does not hold exactly the types/],
  ])('verify reports %s', (_what, sql, problem) => {
    const report = withWebroot(edited('verify', sql), (w) => w.verify());
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.stringMatching(problem));
  });

  it('open refuses entry_types whose ids are not 1, 2, ...', () => {
    const file = edited('types', 'UPDATE entry_types SET id = id + 10');
    expect(() => openWebroot(file)).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringMatching(/entry_types row 11 is malformed/) }));
  });
});

describe('files written before the entry lookup table', () => {
  it('reads the committed version-2 fixture made without it (the writer before the table existed): same files through entries, objects and variants', () => {
    const fixture = new URL('./fixtures/v2-no-entry-lookup.webroot', import.meta.url).pathname;
    expect(hasTable(fixture)).toBe(false);
    withWebroot(fixture, (w) => {
      expect(w.verify()).toMatchObject({ ok: true });
      const e = w.lookup('/a/both.txt');
      expect(e?.kind === 'file' && w.readObjectSync(e.object)).toEqual(TEXT);
      expect(e?.kind === 'file' && e.variants.map((v) => v.encoding)).toEqual(['br', 'gzip']);
      expect(w.lookup('/a/b')?.kind).toBe('directory');
      expect(w.lookup('/missing')).toBeUndefined();
    });
  });
});
