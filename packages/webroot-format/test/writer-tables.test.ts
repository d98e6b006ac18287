import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectTable } from '../src/writer/object-table.js';
import { PathSet, hashPair } from '../src/writer/path-set.js';
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

describe('ObjectTable: stored objects by SHA-256', () => {
  it('finds every added hash with its id and length, and no other, across its growth (1, 2, 3, ... in add order)', () => {
    const t = new ObjectTable();
    const n = 5000; // past the initial 1,024 records and 4,096 slots, so both grow
    for (let i = 0; i < n; i++) {
      expect(t.find(sha(`object ${i}`))).toBe(0);
      expect(t.add(sha(`object ${i}`), i * 3)).toBe(i + 1);
    }
    expect(t.size).toBe(n);
    for (let i = 0; i < n; i++) {
      const id = t.find(sha(`object ${i}`));
      expect(id).toBe(i + 1);
      expect(t.lengthOf(id)).toBe(i * 3);
    }
    expect(t.find(sha('never added'))).toBe(0);
  });

  it('tells hashes that share their first four bytes (the slot) apart', () => {
    const t = new ObjectTable();
    const a = Buffer.alloc(32, 1);
    const b = Buffer.from(a);
    b[31] = 2;
    t.add(a, 10);
    expect(t.find(b)).toBe(0);
    t.add(b, 20);
    expect([t.find(a), t.find(b)]).toEqual([1, 2]);
  });

  it('refuses a hash that is not 32 bytes', () => {
    expect(() => new ObjectTable().add(Buffer.alloc(20), 1)).toThrow('ObjectTable: a hash is 32 bytes, not 20');
  });
});

describe('PathSet: paths taken, answering "maybe" only on a hash collision', () => {
  it('says a new path is new and a repeated one is not, across its growth', () => {
    const s = new PathSet();
    for (let i = 0; i < 10_000; i++) expect(s.add(`/d${i % 100}/f${i}.txt`)).toBe(true);
    for (let i = 0; i < 10_000; i += 997) expect(s.add(`/d${i % 100}/f${i}.txt`)).toBe(false);
    expect(s.add('/d0/f10000.txt')).toBe(true);
  });

  it('with a colliding hash, answers maybe for a different path (the writer then asks SQLite)', () => {
    const s = new PathSet(() => [7, 7]);
    expect(s.add('/a')).toBe(true);
    expect(s.add('/b')).toBe(false);
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
