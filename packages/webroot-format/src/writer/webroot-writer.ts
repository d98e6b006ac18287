import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  ALIGNMENT,
  APPLICATION_ID,
  ENCODINGS,
  FORMAT_VERSION,
  HASH_ALGORITHM,
  RULES_SCHEMA_SQL,
  SCHEMA_SQL,
  type Encoding,
} from '../constants.js';
import { rulesDigest } from '../rules/digest.js';
import { redirectLookupRows } from '../rules/lookup-rows.js';
import { rulesProblem } from '../rules/validate.js';
import { NO_RULES, type SiteRules } from '../rules/types.js';
import { forgetTemporary, removeTemporary, temporaryPathFor } from './temp-files.js';
import { syncDirectory, writeAllAt } from '../fs-sync.js';

const COPY_CHUNK = 4 << 20;
/**
 * Small objects are gathered into one buffer of this size and written with one
 * write(): a write() per small file was an eighth of packing 100,000 files.
 * Objects at least this large are written straight through.
 */
const WRITE_BUFFER = 1 << 20;
/** Index space reserved when the caller gives no estimate. */
const DEFAULT_RESERVE = 64 * 1024;

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

export interface ObjectRef {
  readonly id: number;
  readonly hash: Buffer;
  readonly length: number;
  /** True when identical bytes were already stored and this call stored nothing. */
  readonly deduplicated: boolean;
}

export interface FileRecord {
  path: string;
  mtime: number;
  mime: string;
  object: ObjectRef;
  variants: { encoding: Encoding; object: ObjectRef }[];
}

export interface FinishOptions {
  generator: string;
  /** Seconds since the epoch; callers wanting reproducible output pass a value derived from the input. */
  created: number;
}

export interface FinishResult {
  file: string;
  size: number;
  dataLength: number;
  objectCount: number;
  entryCount: number;
}

/** Receives one object's bytes in pieces; `commit()` stores it (or drops it as a duplicate). */
export interface ObjectSink {
  write(chunk: Buffer): void;
  commit(): ObjectRef;
  abort(): void;
}

/**
 * Builds one webroot file. Object bytes are written, as they arrive, straight
 * into a temporary file next to the destination, at an offset that leaves room
 * for the index (`reserveIndex`, from the caller's estimate). `finish()` writes
 * the index in front, fsyncs and renames over the destination: the data is
 * written once. Should the index outgrow its room, the data region is copied
 * further back once. On any failure (or `abort()`) the temporary file is
 * removed and the destination is untouched.
 */
export class WebrootWriter {
  private readonly tempPath: string;
  private readonly fd: number;
  private dataStart = DEFAULT_RESERVE;
  private dataLength = 0;
  /** Keyed by the hash as 32 latin1 characters: half the memory of hex keys, a million of them when packing a million files. */
  private readonly objectsByHash = new Map<string, ObjectRef & { offset: number }>();
  private readonly objectList: (ObjectRef & { offset: number })[] = [];
  private readonly files = new Map<string, FileRecord>();
  private readonly directories = new Map<string, number>();
  private rules: SiteRules = NO_RULES;
  private openSink = false;
  private done = false;
  /** Bytes of the data region not yet written: they belong at dataStart + dataLength - pendingLength. */
  private pending: Buffer | undefined;
  private pendingLength = 0;

  /** Creates the temporary file next to `dest`; throws the fs error if the directory is not writable. */
  constructor(readonly dest: string) {
    this.tempPath = temporaryPathFor(dest, 'tmp');
    try {
      this.fd = fs.openSync(this.tempPath, 'wx+', 0o644);
    } catch (err) {
      forgetTemporary(this.tempPath);
      throw err;
    }
  }

  /** Leaves `bytes` (rounded up to a page) for the index in front of the data; call before storing any object. */
  reserveIndex(bytes: number): void {
    if (this.objectList.length > 0) throw new Error('WebrootWriter: reserveIndex after objects were stored');
    this.dataStart = align(Math.max(ALIGNMENT, bytes));
  }

  /** The stored object with this SHA-256, if any. */
  findObject(hash: Buffer): ObjectRef | undefined {
    const found = this.objectsByHash.get(hash.toString('latin1'));
    return found && { ...found, deduplicated: true };
  }

  /** Stores `bytes` once: identical content returns the existing object. */
  addObject(bytes: Buffer, hash = crypto.createHash(HASH_ALGORITHM).update(bytes).digest()): ObjectRef {
    this.assertWritable();
    const existing = this.findObject(hash);
    if (existing) return existing;
    if (bytes.length >= WRITE_BUFFER) {
      this.flush();
      writeAllAt(this.fd, bytes, this.dataStart + this.dataLength);
    } else {
      if (this.pendingLength + bytes.length > WRITE_BUFFER) this.flush();
      this.pending ??= Buffer.allocUnsafe(WRITE_BUFFER);
      bytes.copy(this.pending, this.pendingLength);
      this.pendingLength += bytes.length;
    }
    return this.record(hash, this.dataLength, bytes.length);
  }

  /** Writes the gathered small objects out. */
  private flush(): void {
    if (this.pendingLength === 0) return;
    writeAllAt(this.fd, this.pending!.subarray(0, this.pendingLength), this.dataStart + this.dataLength - this.pendingLength);
    this.pendingLength = 0;
  }

  /** Streams one object in; on commit, a duplicate is cut off the data file again. */
  beginObject(): ObjectSink {
    this.assertWritable();
    if (this.openSink) throw new Error('WebrootWriter: one object at a time');
    this.openSink = true;
    this.flush();
    const start = this.dataLength;
    const hasher = crypto.createHash(HASH_ALGORITHM);
    let length = 0;
    const end = () => {
      this.openSink = false;
    };
    return {
      write: (chunk) => {
        writeAllAt(this.fd, chunk, this.dataStart + start + length);
        hasher.update(chunk);
        length += chunk.length;
      },
      commit: () => {
        end();
        const hash = hasher.digest();
        const existing = this.findObject(hash);
        if (existing) {
          fs.ftruncateSync(this.fd, this.dataStart + start);
          return existing;
        }
        return this.record(hash, start, length);
      },
      abort: () => {
        end();
        fs.ftruncateSync(this.fd, this.dataStart + start);
      },
    };
  }

  addFile(record: FileRecord): void {
    this.assertWritable();
    this.assertNewPath(record.path);
    this.files.set(record.path, record);
  }

  addDirectory(dirPath: string, mtime: number): void {
    this.assertWritable();
    this.assertNewPath(dirPath);
    this.directories.set(dirPath, mtime);
  }

  /** The site rules to store (format version 2 tables); checked here, so a bad rule never reaches a file. */
  setRules(rules: SiteRules): void {
    this.assertWritable();
    const problem = rulesProblem(rules);
    if (problem !== undefined) throw new Error(`WebrootWriter: bad site rules: ${problem}`);
    this.rules = rules;
  }

  get bytesStored(): number {
    return this.dataLength;
  }

  finish(options: FinishOptions): FinishResult {
    this.assertWritable();
    this.flush();
    this.done = true;
    const db = new Database(':memory:');
    try {
      // The region digest covers the object hashes in offset order; verify() hashes every
      // object's bytes and checks that the objects tile the region, so no byte goes unchecked.
      const digest = crypto.createHash(HASH_ALGORITHM);
      for (const o of this.objectList) digest.update(o.hash);
      const dataSha256 = digest.digest('hex');
      let image = this.buildIndex(db, options, this.dataStart, dataSha256);
      if (image.length > this.dataStart) {
        // The estimate was short: move the data region back once, behind a roomier index.
        const newStart = align(image.length * 2);
        this.moveData(newStart);
        db.close();
        const again = new Database(':memory:');
        try {
          image = this.buildIndex(again, options, newStart, dataSha256);
        } finally {
          again.close();
        }
        if (image.length > newStart) throw new Error('internal: the index outgrew its reserved space twice');
      }
      writeAllAt(this.fd, image, 0);
      // The gap between index and data stays a hole: zeros, and SQLite never reads it.
      fs.ftruncateSync(this.fd, this.dataStart + this.dataLength);
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      fs.renameSync(this.tempPath, this.dest);
      forgetTemporary(this.tempPath);
      syncDirectory(path.dirname(this.dest));
      return {
        file: this.dest,
        size: this.dataStart + this.dataLength,
        dataLength: this.dataLength,
        objectCount: this.objectList.length,
        entryCount: this.files.size + this.directories.size,
      };
    } catch (err) {
      this.closeTemp();
      throw err;
    } finally {
      if (db.open) db.close();
    }
  }

  /** Drops everything written so far; the destination is untouched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.closeTemp();
  }

  private record(hash: Buffer, offset: number, length: number): ObjectRef {
    const ref = { id: this.objectList.length + 1, hash, length, offset, deduplicated: false };
    this.objectList.push(ref);
    this.objectsByHash.set(hash.toString('latin1'), ref);
    this.dataLength = offset + length;
    return ref;
  }

  private buildIndex(db: Database.Database, options: FinishOptions, dataOffset: number, dataSha256: string): Buffer {
    db.pragma('page_size = 4096');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${FORMAT_VERSION}`);
    db.exec(SCHEMA_SQL);
    db.exec(RULES_SCHEMA_SQL);
    const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    db.transaction(() => {
      const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const entryCount = this.files.size + this.directories.size;
      meta.run('format_version', String(FORMAT_VERSION));
      meta.run('generator', options.generator);
      meta.run('created', String(Math.floor(options.created)));
      meta.run('entry_count', String(entryCount));
      meta.run('object_count', String(this.objectList.length));
      meta.run('data_offset', String(dataOffset));
      meta.run('data_length', String(this.dataLength));
      meta.run('data_sha256', dataSha256);
      meta.run('rules_sha256', rulesDigest(this.rules));
      this.insertRules(db);
      const obj = db.prepare('INSERT INTO objects (id, hash, offset, length) VALUES (?, ?, ?, ?)');
      for (const o of this.objectList) obj.run(o.id, o.hash, o.offset, o.length);
      const entry = db.prepare('INSERT INTO entries (path, kind, mtime, mime, object_id) VALUES (?, ?, ?, ?, ?)');
      for (const p of [...this.directories.keys()].sort(byPath)) entry.run(p, 'directory', this.directories.get(p), null, null);
      const variant = db.prepare('INSERT INTO variants (path, encoding, object_id) VALUES (?, ?, ?)');
      for (const p of [...this.files.keys()].sort(byPath)) {
        const f = this.files.get(p)!;
        entry.run(p, 'file', f.mtime, f.mime, f.object.id);
        for (const v of [...f.variants].sort((a, b) => ENCODINGS.indexOf(a.encoding) - ENCODINGS.indexOf(b.encoding))) {
          variant.run(p, v.encoding, v.object.id);
        }
      }
    })();
    db.exec('VACUUM');
    return db.serialize();
  }

  /** The rule tables of FORMAT.md section 1.2, rows in file order. */
  private insertRules(db: Database.Database): void {
    const r = this.rules;
    const redirect = db.prepare('INSERT INTO redirect_rules (position, line, source, host, from_path, query, to_target, status, force) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    r.redirects.forEach((x, i) =>
      redirect.run(i + 1, x.line, x.source, x.host ?? null, x.from, x.query.map((q) => `${q.key}=${q.value}`).join('&'), x.to, x.status, x.force ? 1 : 0),
    );
    const block = db.prepare('INSERT INTO header_blocks (position, line, host, pattern) VALUES (?, ?, ?, ?)');
    const field = db.prepare('INSERT INTO header_fields (block, position, line, name, value) VALUES (?, ?, ?, ?, ?)');
    r.headers.forEach((h, i) => {
      block.run(i + 1, h.line, h.host ?? null, h.pattern);
      h.ops.forEach((op, j) => field.run(i + 1, j + 1, op.line, op.name, op.op === 'set' ? op.value : null));
    });
    const lookup = db.prepare('INSERT INTO redirect_lookup (path, host, position) VALUES (?, ?, ?)');
    for (const row of redirectLookupRows(r.redirects)) lookup.run(...row);
    const option = db.prepare('INSERT INTO build_options (key, value) VALUES (?, ?)');
    option.run('clean_urls', r.options.cleanUrls ? '1' : '0');
    option.run('trailing_slash', r.options.trailingSlash);
  }

  /** Moves the data region to start at `newStart` (> dataStart), copying from the end so nothing is overwritten early. */
  private moveData(newStart: number): void {
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(this.dataLength, 1)));
    for (let end = this.dataLength; end > 0; ) {
      const n = Math.min(buf.length, end);
      const from = end - n;
      let got = 0;
      while (got < n) got += fs.readSync(this.fd, buf, got, n - got, this.dataStart + from + got);
      writeAllAt(this.fd, buf.subarray(0, n), newStart + from);
      end = from;
    }
    this.dataStart = newStart;
  }

  private closeTemp(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    removeTemporary(this.tempPath);
  }

  private assertWritable(): void {
    if (this.done) throw new Error('WebrootWriter: already finished or aborted');
  }

  private assertNewPath(p: string): void {
    if (!p.startsWith('/')) throw new Error(`WebrootWriter: path must start with '/': ${p}`);
    if (this.files.has(p) || this.directories.has(p)) throw new Error(`WebrootWriter: duplicate path ${p}`);
  }
}
