import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ALIGNED_OBJECT_MIN, ALIGNMENT, openWebroot, type FileEntry } from '../src/index.js';
import { WebrootWriter } from '../src/writer/index.js';

/**
 * FORMAT.md section 2: an object of ALIGNED_OBJECT_MIN (64 KiB) bytes or more starts at a page boundary of
 * the file, behind a gap of fewer than ALIGNMENT zero bytes; every other object follows the one before it.
 * verify() accepts that gap and no other.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpFile(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-align-'));
  dirs.push(d);
  return path.join(d, 'site.webroot');
}
const noise = (n: number, seed: number) => {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 32) crypto.createHash('sha256').update(`${seed}:${i}`).digest().copy(out, i);
  return out;
};
const MIME = 'application/octet-stream';

/** Absolute file offset and length of every object, in offset order. */
function layout(file: string): { at: number; length: number }[] {
  const db = new Database(file, { readonly: true });
  try {
    const start = Number((db.prepare("SELECT value FROM meta WHERE key = 'data_offset'").pluck().get() as string));
    return (db.prepare('SELECT offset, length FROM objects ORDER BY offset, length').raw().all() as [number, number][]).map(([o, l]) => ({ at: start + o, length: l }));
  } finally {
    db.close();
  }
}

function verifyOf(file: string) {
  const r = openWebroot(file);
  try {
    return r.verify();
  } finally {
    r.close();
  }
}

describe('large objects start at a page boundary (FORMAT.md section 2)', () => {
  it('addObject: 64 KiB and larger behind a gap of zeros, smaller ones back to back; verify passes and the bytes read back', () => {
    const file = tmpFile();
    const w = new WebrootWriter(file);
    const bodies = { '/a.txt': noise(1000, 1), '/b.bin': noise(ALIGNED_OBJECT_MIN, 2), '/c.txt': noise(10, 3), '/d.bin': noise(100 * 1024, 4), '/e.bin': noise(ALIGNED_OBJECT_MIN - 1, 5) };
    for (const [p, bytes] of Object.entries(bodies)) w.addFile({ path: p, mtime: 1, mime: MIME, object: w.addObject(bytes), variants: [] });
    w.finish({ generator: 'test', created: 0 });
    const objects = layout(file);
    expect(objects.map((o) => o.length)).toEqual([1000, ALIGNED_OBJECT_MIN, 10, 100 * 1024, ALIGNED_OBJECT_MIN - 1]);
    expect(objects[1]!.at % ALIGNMENT).toBe(0);
    expect(objects[1]!.at - (objects[0]!.at + 1000)).toBe(ALIGNMENT - 1000);
    expect(objects[2]!.at).toBe(objects[1]!.at + ALIGNED_OBJECT_MIN);
    expect(objects[3]!.at % ALIGNMENT).toBe(0);
    // One byte short of the threshold: right behind the object before it.
    expect(objects[4]!.at).toBe(objects[3]!.at + 100 * 1024);
    expect(verifyOf(file)).toMatchObject({ ok: true, problems: [] });
    const r = openWebroot(file);
    try {
      for (const [p, bytes] of Object.entries(bodies)) expect(r.readObjectSync((r.lookup(p) as FileEntry).object).equals(bytes)).toBe(true);
    } finally {
      r.close();
    }
  });

  it('a duplicate of a large object takes no room and leaves no gap', () => {
    const file = tmpFile();
    const w = new WebrootWriter(file);
    const big = noise(200 * 1024, 6);
    w.addFile({ path: '/a.txt', mtime: 1, mime: MIME, object: w.addObject(noise(100, 7)), variants: [] });
    w.addFile({ path: '/big.bin', mtime: 1, mime: MIME, object: w.addObject(big), variants: [] });
    w.addFile({ path: '/c.txt', mtime: 1, mime: MIME, object: w.addObject(noise(100, 8)), variants: [] });
    const dup = w.addObject(Buffer.from(big));
    expect(dup.deduplicated).toBe(true);
    w.addFile({ path: '/copy.bin', mtime: 1, mime: MIME, object: dup, variants: [] });
    w.addFile({ path: '/d.txt', mtime: 1, mime: MIME, object: w.addObject(noise(100, 9)), variants: [] });
    const { dataLength } = w.finish({ generator: 'test', created: 0 });
    const objects = layout(file);
    expect(objects).toHaveLength(4);
    expect(objects[3]!.at).toBe(objects[2]!.at + 100);
    expect(dataLength).toBe(objects[3]!.at + 100 - objects[0]!.at);
    expect(verifyOf(file).ok).toBe(true);
  });

  it('a streamed object of known large size is aligned; one that turns out short is moved back; a duplicate stream is cut off with its gap', () => {
    const file = tmpFile();
    const w = new WebrootWriter(file);
    const big = noise(300 * 1024, 10);
    w.addFile({ path: '/a.txt', mtime: 1, mime: MIME, object: w.addObject(noise(10, 11)), variants: [] });
    const s1 = w.beginObject(big.length);
    for (let i = 0; i < big.length; i += 50_000) s1.write(big.subarray(i, i + 50_000));
    w.addFile({ path: '/big.bin', mtime: 1, mime: MIME, object: s1.commit(), variants: [] });
    w.addFile({ path: '/b.txt', mtime: 1, mime: MIME, object: w.addObject(noise(10, 12)), variants: [] });
    // Said to be large, but only 5,000 bytes came (a file that shrank while it was read).
    const short = noise(5000, 13);
    const s2 = w.beginObject(ALIGNED_OBJECT_MIN * 4);
    s2.write(short);
    w.addFile({ path: '/short.bin', mtime: 1, mime: MIME, object: s2.commit(), variants: [] });
    const s3 = w.beginObject(big.length);
    s3.write(big);
    const again = s3.commit();
    expect(again.deduplicated).toBe(true);
    w.addFile({ path: '/c.txt', mtime: 1, mime: MIME, object: w.addObject(noise(10, 14)), variants: [] });
    w.finish({ generator: 'test', created: 0 });
    const objects = layout(file);
    expect(objects.map((o) => o.length)).toEqual([10, 300 * 1024, 10, 5000, 10]);
    expect(objects[1]!.at % ALIGNMENT).toBe(0);
    expect(objects[3]!.at).toBe(objects[2]!.at + 10);
    expect(objects[4]!.at).toBe(objects[3]!.at + 5000);
    expect(verifyOf(file)).toMatchObject({ ok: true, problems: [] });
    const r = openWebroot(file);
    try {
      expect(r.readObjectSync((r.lookup('/big.bin') as FileEntry).object).equals(big)).toBe(true);
      expect(r.readObjectSync((r.lookup('/short.bin') as FileEntry).object).equals(short)).toBe(true);
    } finally {
      r.close();
    }
  });
});

describe('verify: the alignment gap and no other', () => {
  /** A file with a 100-byte object, then a 64 KiB one at the next page boundary; `edit` changes it before verify. */
  function sample(edit: (file: string, objects: { at: number; length: number }[]) => void): readonly string[] {
    const file = tmpFile();
    const w = new WebrootWriter(file);
    w.addFile({ path: '/a.txt', mtime: 1, mime: MIME, object: w.addObject(noise(100, 20)), variants: [] });
    w.addFile({ path: '/b.bin', mtime: 1, mime: MIME, object: w.addObject(noise(ALIGNED_OBJECT_MIN, 21)), variants: [] });
    w.finish({ generator: 'test', created: 0 });
    edit(file, layout(file));
    return verifyOf(file).problems;
  }

  it('a byte that is not zero in the gap is a problem (verify reads every byte of the region)', () => {
    const problems = sample((file, objects) => {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from([1]), 0, 1, objects[0]!.at + 100 + 7);
      fs.closeSync(fd);
    });
    expect(problems).toContainEqual(expect.stringMatching(/^\/b\.bin: object at \d+ leaves a gap or overlaps/));
  });

  it('a gap in front of an object under 64 KiB is a problem', () => {
    const file = tmpFile();
    const w = new WebrootWriter(file);
    w.addFile({ path: '/a.txt', mtime: 1, mime: MIME, object: w.addObject(noise(100, 22)), variants: [] });
    w.addFile({ path: '/b.txt', mtime: 1, mime: MIME, object: w.addObject(noise(ALIGNED_OBJECT_MIN - 1, 23)), variants: [] });
    w.finish({ generator: 'test', created: 0 });
    // Move /b.txt to the next page boundary, with zeros in front: allowed for a large object only.
    const [a, b] = layout(file);
    const bytes = Buffer.alloc(b!.length);
    const fd = fs.openSync(file, 'r+');
    fs.readSync(fd, bytes, 0, b!.length, b!.at);
    const to = Math.ceil(b!.at / ALIGNMENT) * ALIGNMENT;
    fs.writeSync(fd, Buffer.alloc(to - (a!.at + 100)), 0, to - (a!.at + 100), a!.at + 100);
    fs.writeSync(fd, bytes, 0, bytes.length, to);
    fs.closeSync(fd);
    const db = new Database(file);
    db.prepare('UPDATE objects SET offset = offset + ? WHERE length = ?').run(to - b!.at, b!.length);
    const length = Number(db.prepare("SELECT value FROM meta WHERE key = 'data_length'").pluck().get());
    db.prepare("UPDATE meta SET value = ? WHERE key = 'data_length'").run(String(length + to - b!.at));
    db.close();
    const problems = verifyOf(file).problems;
    expect(problems).toContainEqual(expect.stringMatching(/^\/b\.txt: object at \d+ leaves a gap or overlaps/));
  });

  it('a gap of a whole page or more is a problem', () => {
    const problems = sample((file, objects) => {
      // Shift the large object one page further, zeros in front, the region one page longer.
      const big = Buffer.alloc(objects[1]!.length);
      const fd = fs.openSync(file, 'r+');
      fs.readSync(fd, big, 0, big.length, objects[1]!.at);
      fs.writeSync(fd, Buffer.alloc(ALIGNMENT), 0, ALIGNMENT, objects[1]!.at);
      fs.writeSync(fd, big, 0, big.length, objects[1]!.at + ALIGNMENT);
      fs.closeSync(fd);
      const db = new Database(file);
      db.prepare('UPDATE objects SET offset = offset + ? WHERE length = ?').run(ALIGNMENT, big.length);
      const length = Number(db.prepare("SELECT value FROM meta WHERE key = 'data_length'").pluck().get());
      db.prepare("UPDATE meta SET value = ? WHERE key = 'data_length'").run(String(length + ALIGNMENT));
      db.close();
    });
    expect(problems).toContainEqual(expect.stringMatching(/^\/b\.bin: object at \d+ leaves a gap or overlaps/));
  });
});
