import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { KeySet, digestPair, hashPair } from '../src/writer/key-set.js';
import { RowBatch } from '../src/writer/row-batch.js';
import { WebrootWriter } from '../src/writer/index.js';
import { openWebroot } from '../src/index.js';

// The writer's in-memory tables (issue 15: packing a million files without a SQLite statement per file).
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-tables-'));
  dirs.push(d);
  return d;
};
const sha = (s: string) => crypto.createHash('sha256').update(s).digest();

describe('KeySet: 64-bit keys taken, answering "maybe" only for a key it took', () => {
  it('says a new path is new and a repeated one is not, across its growth', () => {
    const s = new KeySet();
    for (let i = 0; i < 10_000; i++) expect(s.add(hashPair(`/d${i % 100}/f${i}.txt`))).toBe(true);
    for (let i = 0; i < 10_000; i += 997) expect(s.add(hashPair(`/d${i % 100}/f${i}.txt`))).toBe(false);
    expect(s.add(hashPair('/d0/f10000.txt'))).toBe(true);
    expect(s.size).toBe(10_001);
  });

  it('keys objects by their hash\'s first 8 bytes: has() is true for every added one, false for others', () => {
    const s = new KeySet();
    for (let i = 0; i < 5000; i++) s.add(digestPair(sha(`object ${i}`)));
    for (let i = 0; i < 5000; i++) expect(s.has(digestPair(sha(`object ${i}`)))).toBe(true);
    expect(s.has(digestPair(sha('never added')))).toBe(false);
    const a = Buffer.alloc(32, 1);
    const b = Buffer.from(a);
    b[31] = 2; // the same first 8 bytes: a "maybe", which the writer checks in SQLite
    s.add(digestPair(a));
    expect(s.has(digestPair(b))).toBe(true);
  });

  it('tells keys apart that differ only in the low bit of the second word (used slots mark it)', () => {
    const s = new KeySet();
    expect(s.add([7, 2])).toBe(true);
    expect(s.add([7, 3])).toBe(false); // 2 | 1 === 3: one key, by design of the slot mark
    expect(s.add([7, 4])).toBe(true);
    expect(hashPair('/a')).not.toEqual(hashPair('/b'));
  });
});

describe('RowBatch: multi-row INSERT statements', () => {
  it('inserts every row once, in order, whether a batch is full or flushed early', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    const batch = new RowBatch(db, 'INSERT INTO t (id, name)', 2, 4);
    for (let i = 1; i <= 9; i++) {
      batch.add(i, `row ${i}`);
      if (i === 6) batch.flush(); // a partial batch of two
    }
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(6); // a full batch of 4 and the early 2; 7, 8 and 9 pending
    expect(batch.pending).toBe(3);
    batch.flush();
    expect(db.prepare('SELECT id, name FROM t ORDER BY id').raw().all()).toEqual(Array.from({ length: 9 }, (_, i) => [i + 1, `row ${i + 1}`]));
    expect(() => batch.add(1)).toThrow('RowBatch: 2 values a row, got 1');
    db.close();
  });
});

describe('WebrootWriter with rows batched (issue 15)', () => {
  it('refuses a duplicate path added rows after the first (already flushed), and dedups objects across batches', () => {
    // (two objects sharing their first 8 bytes of SHA-256 are found apart by SQLite: not constructible here)
    const w = new WebrootWriter(path.join(tmp(), 'site.webroot'));
    const same = w.addObject(Buffer.from('same bytes'));
    for (let i = 0; i < 300; i++) w.addFile({ path: `/f${i}`, mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(Buffer.from(`file ${i}`)) });
    expect(w.addObject(Buffer.from('same bytes'))).toMatchObject({ id: same.id, deduplicated: true, length: 10 });
    expect(w.findObject(sha('file 5'))).toMatchObject({ id: 7, length: 6 });
    expect(() => w.addFile({ path: '/f3', mtime: 1, mime: 'text/plain; charset=utf-8', object: same })).toThrow('WebrootWriter: duplicate path /f3');
    expect(() => w.addDirectory('/f299', 1)).toThrow('WebrootWriter: duplicate path /f299');
    w.abort();
  });

  it('a written file holds every row: entries, objects and their bytes', () => {
    const file = path.join(tmp(), 'site.webroot');
    const w = new WebrootWriter(file);
    w.addDirectory('/', 1);
    for (let i = 0; i < 1000; i++) w.addFile({ path: `/f${i}`, mtime: i, mime: 'text/plain; charset=utf-8', object: w.addObject(Buffer.from(`file ${i % 700}`)) });
    w.finish({ generator: 'test', created: 1 });
    const r = openWebroot(file);
    try {
      expect(r.size).toBe(1001);
      expect(r.verify()).toMatchObject({ ok: true, problems: [] });
      const e = r.lookup('/f999');
      expect(e?.kind === 'file' && r.readObjectSync(e.object).toString()).toBe('file 299');
      expect(e?.kind === 'file' && e.mtime).toBe(999);
    } finally {
      r.close();
    }
  });
});
