import crypto from 'node:crypto';
import fs from 'node:fs';
import { HASH_ALGORITHM } from '../constants.js';
import { WebrootError } from '../errors.js';
import { rulesDigest } from '../rules/digest.js';
import { NO_RULES, type SiteRules } from '../rules/types.js';
import type { Entry, FileIdentity, StoredObject, VerifyReport, WebrootMeta } from './types.js';

const VERIFY_CHUNK = 1 << 20;

/** fs methods for read streams over our descriptor: reading as usual, closing never. */
const KEEP_FD_OPEN = {
  open: fs.open,
  read: fs.read,
  close: (_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => cb(null),
};

/**
 * An open webroot: the index in memory, one file descriptor for the bytes.
 *
 * Lifetime: whoever serves from it calls `acquire()` before and `release()`
 * after each use; `retire()` says no new use will start. The descriptor is
 * closed once it is retired and the last use has been released, so a response
 * that started on an old version finishes on it after a swap.
 */
export class Webroot {
  private refs = 0;
  private retired = false;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly fd: number,
    /** Absolute offset of the data region (meta data_offset). */
    readonly dataStart: number,
    readonly meta: WebrootMeta,
    private readonly entries: ReadonlyMap<string, Entry>,
    readonly identity: FileIdentity,
    /** The site rules (format version 2); NO_RULES for a version-1 file. */
    readonly rules: SiteRules = NO_RULES,
    /** meta rules_sha256, checked by verify(). */
    private readonly rulesSha256?: string,
  ) {}

  /** The entry at a site path ('/', '/a/b.html'), if any. */
  lookup(path: string): Entry | undefined {
    return this.entries.get(path);
  }

  /** Every entry, in no particular order. */
  all(): IterableIterator<Entry> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The descriptor, for executors that hand it to streams; valid until closed. */
  get descriptor(): number {
    this.assertOpen();
    return this.fd;
  }

  acquire(): this {
    this.assertOpen();
    this.refs++;
    return this;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.retired) this.closeNow();
  }

  /** No new uses will start; close as soon as the running ones end. */
  retire(): void {
    this.retired = true;
    if (this.refs === 0) this.closeNow();
  }

  /** Close now, whatever is running. */
  close(): void {
    this.retired = true;
    this.closeNow();
  }

  /**
   * Synchronous positioned read of `length` bytes starting `start` bytes into
   * `object`, into `target` at `targetOffset`. Returns the bytes read.
   */
  readSync(object: StoredObject, start: number, length: number, target: Buffer, targetOffset = 0): number {
    this.assertOpen();
    const want = Math.max(0, Math.min(length, object.length - start));
    let done = 0;
    while (done < want) {
      const n = fs.readSync(this.fd, target, targetOffset + done, want - done, object.offset + start + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** A whole object, read synchronously into a new buffer. */
  readObjectSync(object: StoredObject): Buffer {
    const buf = Buffer.allocUnsafe(object.length);
    const n = this.readSync(object, 0, object.length, buf);
    if (n !== object.length) throw new WebrootError('WEBROOT_TRUNCATED', `${this.file}: short read`, this.file);
    return buf;
  }

  /**
   * A readable stream over bytes [start, end] (inclusive) of `object`, straight from the descriptor.
   * Destroying it never closes the descriptor (fs.ReadStream closes its fd on destroy even with
   * autoClose: false, which would close the file under every other response): this Webroot owns it.
   */
  createReadStream(object: StoredObject, start: number, end: number, highWaterMark = 64 * 1024): fs.ReadStream {
    this.assertOpen();
    return fs.createReadStream('', {
      fd: this.fd,
      fs: KEEP_FD_OPEN,
      autoClose: false,
      start: object.offset + start,
      end: object.offset + end,
      highWaterMark,
    });
  }

  /** Asynchronous (thread-pool) read, like readSync. */
  read(object: StoredObject, start: number, length: number, target: Buffer, targetOffset = 0): Promise<number> {
    this.assertOpen();
    const want = Math.max(0, Math.min(length, object.length - start));
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done >= want) return resolve(done);
        fs.read(this.fd, target, targetOffset + done, want - done, object.offset + start + done, (err, n) => {
          if (err) reject(err);
          else if (n === 0) resolve(done);
          else step(done + n);
        });
      };
      step(0);
    });
  }

  /**
   * Reads every stored byte and checks it: each object's bytes against its
   * hash, the objects against the data region (they must tile it exactly: no
   * gap, no overlap), and the digest of the object hashes against the meta table.
   */
  verify(): VerifyReport {
    this.assertOpen();
    const problems: string[] = [];
    const buf = Buffer.allocUnsafe(VERIFY_CHUNK);
    const owners = new Map<StoredObject, string>();
    for (const entry of this.entries.values()) {
      if (entry.kind !== 'file') continue;
      if (!owners.has(entry.object)) owners.set(entry.object, entry.path);
      for (const v of entry.variants) if (!owners.has(v.object)) owners.set(v.object, `${entry.path} (${v.encoding})`);
    }
    // The writer's order (object id): it appends each object where the previous one ended,
    // so offsets never decrease, and the only object that can share its offset with another
    // is an empty one (content is deduplicated: there is at most one), recorded before the
    // object that follows it. Offset, then length, is therefore exactly the write order;
    // offset alone put an empty file after its neighbour and reported a gap (issue 9).
    const objects = [...owners.keys()].sort((a, b) => a.offset - b.offset || a.length - b.length);
    if (objects.length !== this.meta.objectCount) problems.push(`${this.meta.objectCount - objects.length} stored objects belong to no entry`);
    let expectedOffset = this.dataStart;
    const digest = crypto.createHash(HASH_ALGORITHM);
    let bytes = 0;
    for (const object of objects) {
      const owner = owners.get(object)!;
      if (object.offset !== expectedOffset) problems.push(`${owner}: object at ${object.offset - this.dataStart} leaves a gap or overlaps (expected ${expectedOffset - this.dataStart})`);
      expectedOffset = object.offset + object.length;
      digest.update(object.hash);
      const h = crypto.createHash(HASH_ALGORITHM);
      let done = 0;
      while (done < object.length) {
        const n = fs.readSync(this.fd, buf, 0, Math.min(VERIFY_CHUNK, object.length - done), object.offset + done);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        done += n;
      }
      bytes += done;
      if (done !== object.length || !h.digest().equals(object.hash)) {
        problems.push(`${owner}: bytes at offset ${object.offset - this.dataStart} do not match their hash`);
      }
    }
    if (expectedOffset !== this.dataStart + this.meta.dataLength) problems.push(`objects end at ${expectedOffset - this.dataStart}, the data region at ${this.meta.dataLength}`);
    if (digest.digest('hex') !== this.meta.dataSha256) problems.push('digest of the object hashes does not match meta data_sha256');
    if (this.rulesSha256 !== undefined && rulesDigest(this.rules) !== this.rulesSha256) problems.push('digest of the site rules does not match meta rules_sha256');
    return { ok: problems.length === 0, objectsChecked: objects.length, bytesChecked: bytes, problems };
  }

  /** Like verify(), but throws WEBROOT_CORRUPT_DATA naming the first problems. */
  verifyOrThrow(): VerifyReport {
    const report = this.verify();
    if (!report.ok) {
      const shown = report.problems.slice(0, 3).join('; ');
      throw new WebrootError('WEBROOT_CORRUPT_DATA', `${this.file}: failed verification: ${shown}${report.problems.length > 3 ? ` (and ${report.problems.length - 3} more)` : ''}`, this.file);
    }
    return report;
  }

  private assertOpen(): void {
    if (this.closed) throw new WebrootError('WEBROOT_CLOSED', `${this.file}: webroot is closed`, this.file);
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
