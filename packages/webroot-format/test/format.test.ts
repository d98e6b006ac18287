import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  APPLICATION_ID,
  FORMAT_VERSION,
  NO_RULES,
  RULES_SCHEMA_SQL,
  SCHEMA_SQL,
  WEBROOT_ERROR_CODES,
  WebrootError,
  etagFromHash,
  openWebroot,
  rulesDigest,
  type FileEntry,
} from '../src/index.js';
import { WebrootWriter } from '../src/writer/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-format-'));
  dirs.push(d);
  return d;
}
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest();

const HELLO = Buffer.from('hello, world\n'.repeat(20));
const BR = Buffer.from('pretend-brotli');
const GZ = Buffer.from('pretend-gzip-bytes');
const BIN = Buffer.from([0, 1, 2, 3, 255, 254]);

/** Writes a small webroot through the real writer. */
function writeSample(dest: string): void {
  const w = new WebrootWriter(dest);
  const hello = w.addObject(HELLO);
  const dup = w.addObject(Buffer.from(HELLO));
  expect(dup.deduplicated).toBe(true);
  expect(dup.id).toBe(hello.id);
  w.addDirectory('/', 1_600_000_000);
  w.addDirectory('/sub', 1_600_000_001);
  w.addFile({
    path: '/hello.txt',
    mtime: 1_600_000_100,
    mime: 'text/plain; charset=utf-8',
    object: hello,
    variants: [
      { encoding: 'gzip', object: w.addObject(GZ) },
      { encoding: 'br', object: w.addObject(BR) },
    ],
  });
  w.addFile({ path: '/sub/copy.txt', mtime: 1_600_000_200, mime: 'text/plain; charset=utf-8', object: dup, variants: [] });
  const sink = w.beginObject();
  sink.write(BIN.subarray(0, 2));
  sink.write(BIN.subarray(2));
  w.addFile({ path: '/sub/data.bin', mtime: 1_600_000_300, mime: 'application/octet-stream', object: sink.commit(), variants: [] });
  w.finish({ generator: 'test', created: 1_650_000_000 });
}

describe('webroot round trip', () => {
  const dir = tmp();
  const file = path.join(dir, 'site.webroot');
  writeSample(file);

  it('keeps every field of every entry', () => {
    const w = openWebroot(file);
    try {
      expect(w.meta).toEqual({
        formatVersion: FORMAT_VERSION,
        generator: 'test',
        created: 1_650_000_000,
        entryCount: 5,
        objectCount: 4,
        dataOffset: 64 * 1024,
        dataLength: HELLO.length + GZ.length + BR.length + BIN.length,
        dataSha256: sha(Buffer.concat([sha(HELLO), sha(GZ), sha(BR), sha(BIN)])).toString('hex'),
      });
      expect(w.lookup('/')).toEqual({ kind: 'directory', path: '/', mtime: 1_600_000_000 });
      expect(w.lookup('/sub')).toEqual({ kind: 'directory', path: '/sub', mtime: 1_600_000_001 });
      const hello = w.lookup('/hello.txt') as FileEntry;
      expect(hello.kind).toBe('file');
      expect(hello.mime).toBe('text/plain; charset=utf-8');
      expect(hello.mtime).toBe(1_600_000_100);
      expect(hello.object.length).toBe(HELLO.length);
      expect(hello.object.hash.equals(sha(HELLO))).toBe(true);
      expect(hello.object.etag).toBe(etagFromHash(sha(HELLO)));
      expect(hello.object.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
      expect(hello.variants.map((v) => v.encoding)).toEqual(['br', 'gzip']);
      expect(w.readObjectSync(hello.variants[0]!.object).equals(BR)).toBe(true);
      expect(w.readObjectSync(hello.variants[1]!.object).equals(GZ)).toBe(true);
      expect(hello.variants[0]!.object.etag).toBe(etagFromHash(sha(BR)));
      const copy = w.lookup('/sub/copy.txt') as FileEntry;
      expect(copy.object).toBe(hello.object); // stored once
      expect(copy.mtime).toBe(1_600_000_200);
      expect(w.readObjectSync((w.lookup('/sub/data.bin') as FileEntry).object).equals(BIN)).toBe(true);
      expect(w.lookup('/missing')).toBeUndefined();
      expect(w.size).toBe(5);
    } finally {
      w.close();
    }
  });

  it('reads a range in all three styles: sync, stream, async', async () => {
    const w = openWebroot(file);
    const obj = (w.lookup('/hello.txt') as FileEntry).object;
    const buf = Buffer.alloc(10);
    expect(w.readSync(obj, 7, 10, buf)).toBe(10);
    expect(buf.equals(HELLO.subarray(7, 17))).toBe(true);
    const abuf = Buffer.alloc(10);
    expect(await w.read(obj, 7, 10, abuf)).toBe(10);
    expect(abuf.equals(HELLO.subarray(7, 17))).toBe(true);
    const parts: Buffer[] = [];
    for await (const c of w.createReadStream(obj, 7, 16)) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(HELLO.subarray(7, 17))).toBe(true);
    // A read past the object's end is clipped to the object, never into the next one.
    expect(w.readSync(obj, obj.length - 2, 10, Buffer.alloc(10))).toBe(2);
    w.close();
  });

  it('destroying a read stream mid-way leaves the descriptor open for every other reader', async () => {
    const w = openWebroot(file);
    const obj = (w.lookup('/hello.txt') as FileEntry).object;
    const rs = w.createReadStream(obj, 0, obj.length - 1, 16);
    await new Promise((r) => rs.once('data', r));
    rs.destroy();
    await new Promise<void>((r) => rs.once('close', () => r()));
    const buf = Buffer.alloc(5);
    expect(w.readSync(obj, 0, 5, buf)).toBe(5);
    expect(buf.toString()).toBe('hello');
    w.close();
  });

  it('is recognised by SQLite itself: application_id and user_version', () => {
    const db = new Database(file, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(db.prepare('SELECT count(*) AS n FROM entries').get()).toEqual({ n: 5 });
    db.close();
  });

  it('verify passes on an intact file and names the path whose byte was altered', () => {
    expect(openWebroot(file).verify()).toMatchObject({ ok: true, objectsChecked: 4, problems: [] });
    const bad = path.join(dir, 'altered.webroot');
    fs.copyFileSync(file, bad);
    const w0 = openWebroot(bad);
    const obj = (w0.lookup('/sub/data.bin') as FileEntry).object;
    w0.close();
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, obj.offset + 1);
    fs.closeSync(fd);
    const w = openWebroot(bad); // opening checks sizes only: still opens
    const report = w.verify();
    w.close();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.stringMatching(/^\/sub\/data\.bin: bytes at offset \d+ do not match their hash$/)]);
  });

  it('refuses reads after close with WEBROOT_CLOSED, and retire() waits for the last reference', () => {
    const w = openWebroot(file);
    const obj = (w.lookup('/hello.txt') as FileEntry).object;
    w.acquire();
    w.retire();
    expect(w.isClosed).toBe(false);
    expect(w.readSync(obj, 0, 5, Buffer.alloc(5))).toBe(5);
    w.release();
    expect(w.isClosed).toBe(true);
    expect(() => w.readSync(obj, 0, 5, Buffer.alloc(5))).toThrow(expect.objectContaining({ code: 'WEBROOT_CLOSED' }));
  });

  it('produces byte-identical files for identical input', () => {
    const again = path.join(dir, 'again.webroot');
    writeSample(again);
    expect(fs.readFileSync(again).equals(fs.readFileSync(file))).toBe(true);
  });
});

function expectRefusal(file: string, code: keyof typeof WEBROOT_ERROR_CODES): WebrootError {
  try {
    openWebroot(file).close();
  } catch (err) {
    expect(err).toBeInstanceOf(WebrootError);
    expect((err as WebrootError).code).toBe(code);
    expect((err as WebrootError).message).toContain(file);
    return err as WebrootError;
  }
  throw new Error(`${file} was not refused`);
}

/** Where hand-built files put their data region. */
const HAND_DATA_OFFSET = 65536;

/** Writes a hand-built index image and its data region (sparse in between). */
function writeHand(p: string, image: Buffer, data: Buffer = Buffer.alloc(0), dataAt = 0): string {
  const fd = fs.openSync(p, 'w');
  fs.writeSync(fd, image, 0, image.length, 0);
  if (data.length > 0) fs.writeSync(fd, data, 0, data.length, HAND_DATA_OFFSET + dataAt);
  fs.ftruncateSync(fd, Math.max(HAND_DATA_OFFSET + dataAt + data.length, HAND_DATA_OFFSET));
  fs.closeSync(fd);
  return p;
}

/** An index image built by hand (for files the writer would never produce). */
function handImage(opts: { appId?: number; version?: number; meta?: Record<string, string | undefined>; objects?: [number, number, number][] }): Buffer {
  const db = new Database(':memory:');
  db.pragma(`application_id = ${opts.appId ?? APPLICATION_ID}`);
  db.pragma(`user_version = ${opts.version ?? FORMAT_VERSION}`);
  db.exec(SCHEMA_SQL);
  db.exec(RULES_SCHEMA_SQL);
  const objects = opts.objects ?? [];
  const meta: Record<string, string | undefined> = {
    format_version: String(opts.version ?? FORMAT_VERSION),
    generator: 'hand',
    created: '0',
    entry_count: String(objects.length),
    object_count: String(objects.length),
    data_offset: String(HAND_DATA_OFFSET),
    data_length: '0',
    data_sha256: '0'.repeat(64),
    rules_sha256: rulesDigest(NO_RULES),
    ...opts.meta,
  };
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) db.prepare('INSERT INTO meta VALUES (?, ?)').run(k, v);
  for (const [id, offset, length] of objects) {
    db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?)').run(id, crypto.randomBytes(32), offset, length);
    db.prepare("INSERT INTO entries VALUES (?, 'file', 0, 'application/octet-stream', ?)").run(`/o${id}`, id);
  }
  const image = db.serialize();
  db.close();
  return image;
}

describe('refusals: every error code, with a hand-corrupted file', () => {
  const dir = tmp();
  const good = path.join(dir, 'good.webroot');
  writeSample(good);
  const bytes = fs.readFileSync(good);
  const variant = (name: string, data: Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };

  it('WEBROOT_NOT_FOUND for a missing file', () => {
    expectRefusal(path.join(dir, 'nope.webroot'), 'WEBROOT_NOT_FOUND');
  });
  it('WEBROOT_UNREADABLE for a directory', () => {
    expectRefusal(dir, 'WEBROOT_UNREADABLE');
  });
  it('WEBROOT_BAD_MAGIC for a file that is not SQLite', () => {
    expectRefusal(variant('text.webroot', Buffer.from('<html>not a webroot</html>\n'.repeat(10))), 'WEBROOT_BAD_MAGIC');
    expectRefusal(variant('empty.webroot', Buffer.alloc(0)), 'WEBROOT_BAD_MAGIC');
  });
  it('WEBROOT_BAD_MAGIC for an SQLite file with another application id', () => {
    const copy = Buffer.from(bytes);
    copy.writeUInt32BE(0x12345678, 68);
    const err = expectRefusal(variant('appid.webroot', copy), 'WEBROOT_BAD_MAGIC');
    expect(err.message).toContain('application_id is 0x12345678');
  });
  it('WEBROOT_UNSUPPORTED_VERSION for a newer format version', () => {
    const copy = Buffer.from(bytes);
    copy.writeUInt32BE(FORMAT_VERSION + 1, 60);
    const err = expectRefusal(variant('v2.webroot', copy), 'WEBROOT_UNSUPPORTED_VERSION');
    expect(err.message).toContain(`version ${FORMAT_VERSION + 1}`);
  });
  it('WEBROOT_TRUNCATED when the data region or the index is cut short', () => {
    expectRefusal(variant('short-data.webroot', bytes.subarray(0, bytes.length - 1)), 'WEBROOT_TRUNCATED');
    expectRefusal(variant('short-index.webroot', bytes.subarray(0, 3000)), 'WEBROOT_TRUNCATED');
  });
  it('WEBROOT_TRAILING_DATA when bytes follow the data region', () => {
    expectRefusal(variant('long.webroot', Buffer.concat([bytes, Buffer.from('x')])), 'WEBROOT_TRAILING_DATA');
  });
  it('WEBROOT_CORRUPT_INDEX for a missing meta key, an object outside the data region, a garbled index', () => {
    expectRefusal(writeHand(path.join(dir, 'nometa.webroot'), handImage({ meta: { data_length: undefined } })), 'WEBROOT_CORRUPT_INDEX');
    expectRefusal(writeHand(path.join(dir, 'nooffset.webroot'), handImage({ meta: { data_offset: undefined } })), 'WEBROOT_CORRUPT_INDEX');
    expectRefusal(writeHand(path.join(dir, 'inside.webroot'), handImage({ meta: { data_offset: '512' } })), 'WEBROOT_CORRUPT_INDEX');
    const outside = handImage({ objects: [[1, 0, 100]], meta: { data_length: '10' } });
    expectRefusal(writeHand(path.join(dir, 'outside.webroot'), outside, Buffer.alloc(10)), 'WEBROOT_CORRUPT_INDEX');
    const garbled = Buffer.from(bytes);
    garbled.fill(0xee, 4096, 8192); // page 2 of the index
    expectRefusal(variant('garbled.webroot', garbled), 'WEBROOT_CORRUPT_INDEX');
  });
  it('WEBROOT_CORRUPT_DATA from verifyOrThrow when a stored byte was altered', () => {
    const copy = Buffer.from(bytes);
    copy[copy.length - 1] ^= 0xff; // last byte of the data region
    const w = openWebroot(variant('flipped.webroot', copy));
    try {
      expect(() => w.verifyOrThrow()).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_DATA' }));
    } finally {
      w.close();
    }
    const ok = openWebroot(good);
    expect(ok.verifyOrThrow().ok).toBe(true);
    ok.close();
  });
});

describe('error codes', () => {
  it('every code is documented in FORMAT.md', () => {
    const doc = fs.readFileSync(new URL('../FORMAT.md', import.meta.url), 'utf8');
    for (const code of Object.keys(WEBROOT_ERROR_CODES)) expect(doc, `${code} missing from FORMAT.md`).toContain(`\`${code}\``);
  });
});

describe('64-bit sizes and offsets', () => {
  it('serves bytes stored beyond 4 GiB (sparse file)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'huge.webroot');
    const offset = 4 * 1024 ** 3 + 12345; // past 2^32
    const payload = Buffer.from('bytes beyond four gibibytes');
    const image = handImage({ objects: [[1, offset, payload.length]], meta: { data_length: String(offset + payload.length) } });
    writeHand(file, image, payload, offset);
    expect(fs.statSync(file).size).toBeGreaterThan(2 ** 32);
    const w = openWebroot(file);
    try {
      const obj = (w.lookup('/o1') as FileEntry).object;
      expect(obj.offset).toBe(HAND_DATA_OFFSET + offset);
      const buf = Buffer.alloc(payload.length);
      expect(w.readSync(obj, 0, payload.length, buf)).toBe(payload.length);
      expect(buf.equals(payload)).toBe(true);
      const abuf = Buffer.alloc(payload.length);
      await w.read(obj, 0, payload.length, abuf);
      expect(abuf.equals(payload)).toBe(true);
      const parts: Buffer[] = [];
      for await (const c of w.createReadStream(obj, 6, 11)) parts.push(c as Buffer);
      expect(Buffer.concat(parts).toString()).toBe('beyond');
    } finally {
      w.close();
    }
  });
});

describe('the writer builds its index in SQLite as rows arrive (issue 15)', () => {
  it('shared variants reach every file that takes them, including variants stored after the file was added', () => {
    const file = path.join(tmp(), 'site.webroot');
    const w = new WebrootWriter(file);
    const hello = w.addObject(HELLO);
    w.addFile({ path: '/before.txt', mtime: 1, mime: 'text/plain; charset=utf-8', object: hello }); // added before the bytes had variants
    expect(w.hasSharedVariants(hello)).toBe(false);
    w.shareVariants(hello);
    expect(w.hasSharedVariants(hello)).toBe(true);
    w.addFile({ path: '/first.txt', mtime: 1, mime: 'text/plain; charset=utf-8', object: hello, sharedVariants: true });
    w.addFile({ path: '/second.txt', mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(Buffer.from(HELLO)), sharedVariants: true });
    w.addSharedVariant(hello, 'gzip', w.addObject(GZ));
    w.addSharedVariant(hello, 'br', w.addObject(BR));
    w.finish({ generator: 'test', created: 0 });
    const r = openWebroot(file);
    try {
      const encodings = (p: string) => (r.lookup(p) as FileEntry).variants.map((v) => [v.encoding, r.readObjectSync(v.object).toString()]);
      expect(encodings('/before.txt')).toEqual([]);
      expect(encodings('/first.txt')).toEqual([['br', BR.toString()], ['gzip', GZ.toString()]]);
      expect(encodings('/second.txt')).toEqual([['br', BR.toString()], ['gzip', GZ.toString()]]);
      expect(r.verify()).toMatchObject({ ok: true, problems: [] });
    } finally {
      r.close();
    }
  });

  it('a duplicate path is refused (file or directory), and the writer can still be aborted cleanly', () => {
    const dir = tmp();
    const w = new WebrootWriter(path.join(dir, 'site.webroot'));
    w.addFile({ path: '/a', mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(HELLO) });
    expect(() => w.addFile({ path: '/a', mtime: 2, mime: 'text/plain; charset=utf-8', object: w.addObject(BIN) })).toThrow('WebrootWriter: duplicate path /a');
    expect(() => w.addDirectory('/a', 1)).toThrow('WebrootWriter: duplicate path /a');
    w.abort();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('finish leaves only the webroot: the index being built and its image are removed', () => {
    const dir = tmp();
    writeSample(path.join(dir, 'site.webroot'));
    expect(fs.readdirSync(dir)).toEqual(['site.webroot']);
  });
});

describe('the writer leaves nothing behind', () => {
  it('an index larger than the space reserved for it moves the data back once, with the same content', () => {
    const dir = tmp();
    const small = path.join(dir, 'small-reserve.webroot');
    const w = new WebrootWriter(small);
    w.reserveIndex(4096); // far too little for 2,000 entries
    const objects = Array.from({ length: 2000 }, (_, i) => w.addObject(Buffer.from(`file number ${i}\n`)));
    objects.forEach((o, i) => w.addFile({ path: `/dir/a-fairly-long-file-name-${i}.txt`, mtime: 1, mime: 'text/plain; charset=utf-8', object: o, variants: [] }));
    w.finish({ generator: 'test', created: 0 });
    const r = openWebroot(small);
    try {
      expect(r.dataStart).toBeGreaterThan(4096);
      expect(r.readObjectSync((r.lookup('/dir/a-fairly-long-file-name-1999.txt') as FileEntry).object).toString()).toBe('file number 1999\n');
      expect(r.verify().ok).toBe(true);
    } finally {
      r.close();
    }
  });

  it('abort() removes its temporary file and leaves an existing destination untouched', () => {
    const dir = tmp();
    const dest = path.join(dir, 'site.webroot');
    fs.writeFileSync(dest, 'previous version');
    const w = new WebrootWriter(dest);
    w.addObject(HELLO);
    expect(fs.readdirSync(dir).length).toBe(3); // dest, the temporary output and the index being built beside it
    w.abort();
    expect(fs.readdirSync(dir)).toEqual(['site.webroot']);
    expect(fs.readFileSync(dest, 'utf8')).toBe('previous version');
  });

  it('an unwritable destination directory fails before anything is written', () => {
    expect(() => new WebrootWriter('/nonexistent-dir/x.webroot')).toThrow(/ENOENT/);
  });
});

describe('verify with empty files (issue 9: the tiling check ordered objects by offset only)', () => {
  const EMPTY = Buffer.alloc(0);
  type Write = [path: string, what: 'identity' | 'br' | 'gzip', bytes: Buffer];
  // Objects in the order they are written. mkroot writes a file's variants after later files'
  // identity bytes (compression runs behind the walk), so an empty file can sit between a file
  // and its variants, sharing its offset with the variant written after it.
  const layouts: { name: string; writes: Write[] }[] = [
    { name: 'only an empty file', writes: [['/empty.txt', 'identity', EMPTY]] },
    { name: 'an empty file first', writes: [['/a.txt', 'identity', EMPTY], ['/b.txt', 'identity', HELLO]] },
    { name: 'an empty file last', writes: [['/a.txt', 'identity', HELLO], ['/b.txt', 'identity', EMPTY]] },
    { name: 'an empty file sorting before the file written after it', writes: [['/z.bin', 'identity', BIN], ['/a.txt', 'identity', EMPTY], ['/m.txt', 'identity', HELLO]] },
    { name: 'an empty file before a br variant', writes: [['/a.html', 'identity', HELLO], ['/b.txt', 'identity', EMPTY], ['/a.html', 'br', BR]] },
    { name: 'an empty file before a gzip variant', writes: [['/a.html', 'identity', HELLO], ['/b.txt', 'identity', EMPTY], ['/a.html', 'gzip', GZ]] },
    { name: 'an empty file before br and gzip variants (the mkroot reproducer)', writes: [['/a.html', 'identity', HELLO], ['/b.txt', 'identity', EMPTY], ['/a.html', 'br', BR], ['/a.html', 'gzip', GZ]] },
    { name: 'an empty file between a br and a gzip variant', writes: [['/a.html', 'identity', HELLO], ['/a.html', 'br', BR], ['/b.txt', 'identity', EMPTY], ['/a.html', 'gzip', GZ]] },
    { name: 'an empty file after every variant', writes: [['/a.html', 'identity', HELLO], ['/a.html', 'br', BR], ['/a.html', 'gzip', GZ], ['/b.txt', 'identity', EMPTY]] },
    { name: 'two empty files (one shared object) around variants', writes: [['/a.html', 'identity', HELLO], ['/b.txt', 'identity', EMPTY], ['/a.html', 'gzip', GZ], ['/c.txt', 'identity', EMPTY]] },
  ];

  for (const layout of layouts) {
    it(`verify passes: ${layout.name}`, () => {
      const file = path.join(tmp(), 'site.webroot');
      const w = new WebrootWriter(file);
      w.addDirectory('/', 1);
      const files = new Map<string, { object?: ReturnType<WebrootWriter['addObject']>; variants: { encoding: 'br' | 'gzip'; object: ReturnType<WebrootWriter['addObject']> }[]; bytes?: Buffer }>();
      for (const [p, what, bytes] of layout.writes) {
        const f = files.get(p) ?? { variants: [] };
        files.set(p, f);
        const object = w.addObject(bytes);
        if (what === 'identity') Object.assign(f, { object, bytes });
        else f.variants.push({ encoding: what, object });
      }
      for (const [p, f] of files) w.addFile({ path: p, mtime: 1, mime: 'text/plain; charset=utf-8', object: f.object!, variants: f.variants });
      w.finish({ generator: 'test', created: 0 });
      const r = openWebroot(file);
      try {
        expect(r.verify()).toMatchObject({ ok: true, problems: [] });
        for (const [p, f] of files) expect(r.readObjectSync((r.lookup(p) as FileEntry).object).equals(f.bytes!)).toBe(true);
      } finally {
        r.close();
      }
    });
  }

  it('still reports an overlap when an empty object is moved inside another object', () => {
    const file = path.join(tmp(), 'site.webroot');
    const w = new WebrootWriter(file);
    w.addFile({ path: '/a.txt', mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(HELLO), variants: [] });
    w.addFile({ path: '/b.txt', mtime: 1, mime: 'text/plain; charset=utf-8', object: w.addObject(EMPTY), variants: [] });
    w.finish({ generator: 'test', created: 0 });
    // Edit the index in place: the empty object now starts in the middle of /a.txt.
    const db = new Database(file);
    db.prepare('UPDATE objects SET offset = 5 WHERE length = 0').run();
    db.close();
    const r = openWebroot(file);
    try {
      const report = r.verify();
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual(expect.stringMatching(/^\/b\.txt: object at 5 leaves a gap or overlaps/));
    } finally {
      r.close();
    }
  });
});
