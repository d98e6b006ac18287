import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  APPLICATION_ID,
  ENCODINGS,
  FORMAT_VERSION,
  HASH_ALGORITHM,
  SCHEMA_SQL,
  type Encoding,
} from '../constants.js';
import { forgetTemporary, removeTemporary, temporaryPathFor } from './temp-files.js';

const COPY_CHUNK = 4 << 20;
const DIGEST_PLACEHOLDER = '0'.repeat(64);

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

function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/**
 * Builds one webroot file. Object bytes go to a temporary data file as they
 * arrive; `finish()` writes the index, then the data region behind it, into a
 * second temporary file, fsyncs it and renames it over the destination. On any
 * failure (or `abort()`) both temporary files are removed and the destination
 * is untouched.
 */
export class WebrootWriter {
  private readonly dataPath: string;
  private readonly dataFd: number;
  private dataLength = 0;
  private readonly objectsByHash = new Map<string, ObjectRef & { offset: number }>();
  private readonly objectList: (ObjectRef & { offset: number })[] = [];
  private readonly files = new Map<string, FileRecord>();
  private readonly directories = new Map<string, number>();
  private openSink = false;
  private done = false;

  /** Creates the temporary data file next to `dest`; throws the fs error if the directory is not writable. */
  constructor(readonly dest: string) {
    this.dataPath = temporaryPathFor(dest, 'data.tmp');
    try {
      this.dataFd = fs.openSync(this.dataPath, 'wx+', 0o600);
    } catch (err) {
      forgetTemporary(this.dataPath);
      throw err;
    }
  }

  /** The stored object with this SHA-256, if any. */
  findObject(hash: Buffer): ObjectRef | undefined {
    const found = this.objectsByHash.get(hash.toString('hex'));
    return found && { ...found, deduplicated: true };
  }

  /** Stores `bytes` once: identical content returns the existing object. */
  addObject(bytes: Buffer, hash = crypto.createHash(HASH_ALGORITHM).update(bytes).digest()): ObjectRef {
    this.assertWritable();
    const existing = this.findObject(hash);
    if (existing) return existing;
    writeAll(this.dataFd, bytes, this.dataLength);
    return this.record(hash, this.dataLength, bytes.length);
  }

  /** Streams one object in; on commit, a duplicate is cut off the data file again. */
  beginObject(): ObjectSink {
    this.assertWritable();
    if (this.openSink) throw new Error('WebrootWriter: one object at a time');
    this.openSink = true;
    const start = this.dataLength;
    const hasher = crypto.createHash(HASH_ALGORITHM);
    let length = 0;
    const end = () => {
      this.openSink = false;
    };
    return {
      write: (chunk) => {
        writeAll(this.dataFd, chunk, start + length);
        hasher.update(chunk);
        length += chunk.length;
      },
      commit: () => {
        end();
        const hash = hasher.digest();
        const existing = this.findObject(hash);
        if (existing) {
          fs.ftruncateSync(this.dataFd, start);
          return existing;
        }
        return this.record(hash, start, length);
      },
      abort: () => {
        end();
        fs.ftruncateSync(this.dataFd, start);
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

  get bytesStored(): number {
    return this.dataLength;
  }

  finish(options: FinishOptions): FinishResult {
    this.assertWritable();
    this.done = true;
    const finalPath = temporaryPathFor(this.dest, 'tmp');
    let finalFd: number | undefined;
    const db = new Database(':memory:');
    try {
      const image = this.buildIndex(db, options);
      finalFd = fs.openSync(finalPath, 'wx', 0o644);
      const digest = this.copyData(finalFd, image.length);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'data_sha256'").run(digest);
      const finalImage = db.serialize();
      if (finalImage.length !== image.length) {
        throw new Error(`internal: index size changed from ${image.length} to ${finalImage.length} when its digest was filled in`);
      }
      writeAll(finalFd, finalImage, 0);
      fs.fsyncSync(finalFd);
      fs.closeSync(finalFd);
      finalFd = undefined;
      fs.renameSync(finalPath, this.dest);
      forgetTemporary(finalPath);
      this.syncDirectory();
      return {
        file: this.dest,
        size: image.length + this.dataLength,
        dataLength: this.dataLength,
        objectCount: this.objectList.length,
        entryCount: this.files.size + this.directories.size,
      };
    } catch (err) {
      if (finalFd !== undefined) fs.closeSync(finalFd);
      removeTemporary(finalPath);
      throw err;
    } finally {
      db.close();
      this.closeData();
    }
  }

  /** Drops everything written so far; the destination is untouched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.closeData();
  }

  private record(hash: Buffer, offset: number, length: number): ObjectRef {
    const ref = { id: this.objectList.length + 1, hash, length, offset, deduplicated: false };
    this.objectList.push(ref);
    this.objectsByHash.set(hash.toString('hex'), ref);
    this.dataLength = offset + length;
    return ref;
  }

  private buildIndex(db: Database.Database, options: FinishOptions): Buffer {
    db.pragma('page_size = 4096');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${FORMAT_VERSION}`);
    db.exec(SCHEMA_SQL);
    const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    db.transaction(() => {
      const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const entryCount = this.files.size + this.directories.size;
      meta.run('format_version', String(FORMAT_VERSION));
      meta.run('generator', options.generator);
      meta.run('created', String(Math.floor(options.created)));
      meta.run('entry_count', String(entryCount));
      meta.run('object_count', String(this.objectList.length));
      meta.run('data_length', String(this.dataLength));
      meta.run('data_sha256', DIGEST_PLACEHOLDER);
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

  /** Copies the data file behind the index, hashing it on the way; returns the hex digest. */
  private copyData(finalFd: number, at: number): string {
    const hasher = crypto.createHash(HASH_ALGORITHM);
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(this.dataLength, 1)));
    let done = 0;
    while (done < this.dataLength) {
      const n = fs.readSync(this.dataFd, buf, 0, Math.min(buf.length, this.dataLength - done), done);
      if (n === 0) throw new Error(`internal: data file ended at ${done} of ${this.dataLength} bytes`);
      const chunk = buf.subarray(0, n);
      hasher.update(chunk);
      writeAll(finalFd, chunk, at + done);
      done += n;
    }
    return hasher.digest('hex');
  }

  private syncDirectory(): void {
    try {
      const dirFd = fs.openSync(path.dirname(this.dest), 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch {
      // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
    }
  }

  private closeData(): void {
    try {
      fs.closeSync(this.dataFd);
    } catch {
      // already closed
    }
    removeTemporary(this.dataPath);
  }

  private assertWritable(): void {
    if (this.done) throw new Error('WebrootWriter: already finished or aborted');
  }

  private assertNewPath(p: string): void {
    if (!p.startsWith('/')) throw new Error(`WebrootWriter: path must start with '/': ${p}`);
    if (this.files.has(p) || this.directories.has(p)) throw new Error(`WebrootWriter: duplicate path ${p}`);
  }
}
