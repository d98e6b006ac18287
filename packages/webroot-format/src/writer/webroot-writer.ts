import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ALIGNED_OBJECT_MIN, ALIGNMENT, HASH_ALGORITHM, type Encoding } from '../constants.js';
import { rulesDigest } from '../rules/digest.js';
import { rulesProblem } from '../rules/validate.js';
import { NO_RULES, type SiteRules } from '../rules/types.js';
import { IndexBuilder } from './index-builder.js';
import { forgetTemporary, removeTemporary, temporaryPathFor } from './temp-files.js';
import { copyWithinFile, syncDirectory, writeAllAt } from '../fs-sync.js';

const COPY_CHUNK = 4 << 20;
/**
 * Small objects are gathered into one buffer of this size and written with one
 * write(): a write() per small file was an eighth of packing 100,000 files.
 * Objects at least this large are written straight through.
 */
const WRITE_BUFFER = 1 << 20;
/** Index space reserved when the caller gives no estimate. */
const DEFAULT_RESERVE = 64 * 1024;

/** crypto.hash (Node 20.12) is a one-shot digest without a Hash object per call: a million small files each made one. */
const hashOf: (bytes: Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (bytes) => crypto.hash(HASH_ALGORITHM, bytes, 'buffer') as unknown as Buffer
    : (bytes) => crypto.createHash(HASH_ALGORITHM).update(bytes).digest();

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

export interface WriterOptions {
  /** Write the entry lookup table (FORMAT.md section 1.3); default true. */
  entryLookup?: boolean;
}

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
  /** Variants of this file alone, already stored. */
  variants?: readonly { encoding: Encoding; object: ObjectRef }[];
  /** The file also gets the shared variants of its identity object (`shareVariants`), including ones added after this call. */
  sharedVariants?: boolean;
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
  /** Every row of the index goes here as it comes: no per-file record stays in memory (a million of them cost 1.7 GB). */
  private readonly index: IndexBuilder;
  private objectCount = 0;
  private entryCount = 0;
  /** FORMAT.md data_sha256: the objects' hashes in offset order, which is the order they are stored in. */
  private readonly regionDigest = crypto.createHash(HASH_ALGORITHM);
  private rules: SiteRules = NO_RULES;
  private openSink = false;
  private done = false;
  /** Bytes of the data region not yet written: they belong at dataStart + dataLength - pendingLength. */
  private pending: Buffer | undefined;
  private pendingLength = 0;

  /**
   * Creates the temporary file next to `dest`; throws the fs error if the directory is not writable.
   * `entryLookup: false` writes no entry lookup table (FORMAT.md section 1.3), as writers before it did.
   */
  constructor(
    readonly dest: string,
    options: WriterOptions = {},
  ) {
    this.tempPath = temporaryPathFor(dest, 'tmp');
    try {
      this.fd = fs.openSync(this.tempPath, 'wx+', 0o644);
    } catch (err) {
      forgetTemporary(this.tempPath);
      throw err;
    }
    try {
      this.index = new IndexBuilder(dest, { entryLookup: options.entryLookup ?? true });
    } catch (err) {
      this.closeTemp();
      throw err;
    }
  }

  /** Leaves `bytes` (rounded up to a page) for the index in front of the data; call before storing any object. */
  reserveIndex(bytes: number): void {
    if (this.objectCount > 0) throw new Error('WebrootWriter: reserveIndex after objects were stored');
    this.dataStart = align(Math.max(ALIGNMENT, bytes));
  }

  /** The stored object with this SHA-256, if any. */
  findObject(hash: Buffer): ObjectRef | undefined {
    const found = this.index.findObject(hash);
    return found && { id: found.id, hash, length: found.length, deduplicated: true };
  }

  /** Stores `bytes` once: identical content returns the existing object. */
  addObject(bytes: Buffer, hash = hashOf(bytes)): ObjectRef {
    this.assertWritable();
    if (bytes.length >= ALIGNED_OBJECT_MIN && this.dataLength % ALIGNMENT !== 0) {
      // A duplicate takes no room, so no gap either.
      const found = this.findObject(hash);
      if (found) return found;
      this.skipToAlignment();
    }
    const offset = this.dataLength;
    const existing = this.record(hash, offset, bytes.length);
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
    this.dataLength = offset + bytes.length;
    return { id: this.objectCount, hash, length: bytes.length, deduplicated: false };
  }

  /**
   * FORMAT.md section 2: an object of ALIGNED_OBJECT_MIN bytes or more starts at a page boundary. The gap
   * is never written: a hole in the temporary file, which reads as zeros (and is copied as such by moveData).
   */
  private skipToAlignment(): void {
    this.flush();
    this.dataLength = align(this.dataLength);
  }

  /** Writes the gathered small objects out. */
  private flush(): void {
    if (this.pendingLength === 0) return;
    writeAllAt(this.fd, this.pending!.subarray(0, this.pendingLength), this.dataStart + this.dataLength - this.pendingLength);
    this.pendingLength = 0;
  }

  /**
   * Streams one object in; on commit, a duplicate is cut off the data file again. `expectedLength`: the
   * size the caller knows it will be (a file's size); from ALIGNED_OBJECT_MIN up the object starts at a page
   * boundary (FORMAT.md section 2). A stream of unknown length (a compressed variant) is not aligned.
   */
  beginObject(expectedLength = 0): ObjectSink {
    this.assertWritable();
    if (this.openSink) throw new Error('WebrootWriter: one object at a time');
    this.openSink = true;
    this.flush();
    // Where the data region ends if this object turns out a duplicate (or is aborted): before any gap.
    const before = this.dataLength;
    const start = expectedLength >= ALIGNED_OBJECT_MIN ? align(before) : before;
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
        // The gap is only for an object of ALIGNED_OBJECT_MIN bytes or more: a shorter one is moved back.
        const at = length >= ALIGNED_OBJECT_MIN || start === before ? start : this.moveBack(start, before, length);
        const existing = this.record(hash, at, length);
        if (existing) {
          fs.ftruncateSync(this.fd, this.dataStart + before);
          return existing;
        }
        this.dataLength = at + length;
        return { id: this.objectCount, hash, length, deduplicated: false };
      },
      abort: () => {
        end();
        fs.ftruncateSync(this.fd, this.dataStart + before);
      },
    };
  }

  addFile(record: FileRecord): void {
    this.assertWritable();
    this.assertPath(record.path);
    if (!this.index.addFile(record.path, record.mtime, record.mime, record.object.id)) this.duplicate(record.path);
    this.entryCount++;
    for (const v of record.variants ?? []) this.index.addVariant(record.path, v.encoding, v.object.id);
    if (record.sharedVariants) this.index.takeSharedVariants(record.path);
  }

  addDirectory(dirPath: string, mtime: number): void {
    this.assertWritable();
    this.assertPath(dirPath);
    if (!this.index.addDirectory(dirPath, mtime)) this.duplicate(dirPath);
    this.entryCount++;
  }

  /**
   * Gives the identity object `identity` a set of variants shared by every file
   * added with `sharedVariants` (mkroot's precompression stores them later, once
   * per content, while files with the same bytes keep coming).
   */
  shareVariants(identity: ObjectRef): void {
    this.assertWritable();
    this.index.shareVariants(identity.id);
  }

  hasSharedVariants(identity: ObjectRef): boolean {
    return this.index.hasSharedVariants(identity.id);
  }

  /** Adds a stored `object` as the `encoding` variant of `identity` (which shareVariants declared). */
  addSharedVariant(identity: ObjectRef, encoding: Encoding, object: ObjectRef): void {
    this.assertWritable();
    this.index.addSharedVariant(identity.id, encoding, object.id);
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
    try {
      // The region digest covers the object hashes in offset order; verify() hashes every
      // object's bytes and checks that the objects tile the region, so no byte goes unchecked.
      const meta = {
        generator: options.generator,
        created: options.created,
        dataOffset: this.dataStart,
        dataLength: this.dataLength,
        dataSha256: this.regionDigest.digest('hex'),
        rulesSha256: rulesDigest(this.rules),
      };
      let imageSize = this.index.imageSize(meta, this.entryCount, this.objectCount, this.rules);
      if (imageSize > this.dataStart) {
        // The estimate was short: move the data region back once, behind a roomier index.
        const newStart = align(imageSize * 2);
        this.moveData(newStart);
        imageSize = this.index.imageSize({ ...meta, dataOffset: newStart }, this.entryCount, this.objectCount, this.rules);
        if (imageSize > newStart) throw new Error('internal: the index outgrew its reserved space twice');
      }
      this.index.copyImage(this.fd);
      this.index.close();
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
        objectCount: this.objectCount,
        entryCount: this.entryCount,
      };
    } catch (err) {
      this.closeTemp();
      throw err;
    }
  }

  /** Drops everything written so far; the destination is untouched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.closeTemp();
  }

  /** Adds the object row for bytes at `offset`; returns the stored object instead when the bytes are a duplicate. */
  private record(hash: Buffer, offset: number, length: number): ObjectRef | undefined {
    const existing = this.index.addObject(this.objectCount + 1, hash, offset, length);
    if (existing) return { id: existing.id, hash, length: existing.length, deduplicated: true };
    this.objectCount++;
    this.regionDigest.update(hash);
    return undefined;
  }

  /** Moves `length` bytes of the region from `from` back to `to` (< from); returns `to`. */
  private moveBack(from: number, to: number, length: number): number {
    copyWithinFile(this.fd, this.dataStart + from, this.dataStart + to, length, COPY_CHUNK);
    fs.ftruncateSync(this.fd, this.dataStart + to + length);
    return to;
  }

  /** Moves the data region to start at `newStart` (> dataStart). */
  private moveData(newStart: number): void {
    copyWithinFile(this.fd, this.dataStart, newStart, this.dataLength, COPY_CHUNK);
    this.dataStart = newStart;
  }

  private closeTemp(): void {
    this.index?.close();
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

  private assertPath(p: string): void {
    if (!p.startsWith('/')) throw new Error(`WebrootWriter: path must start with '/': ${p}`);
  }

  private duplicate(p: string): never {
    throw new Error(`WebrootWriter: duplicate path ${p}`);
  }
}
