import crypto from 'node:crypto';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { ALIGNED_OBJECT_MIN, ALIGNMENT, HASH_ALGORITHM } from '../constants.js';
import { WebrootError } from '../errors.js';
import { rulesDigest } from '../rules/digest.js';
import { compileRules, type CompiledRules } from '../rules/matcher.js';
import { NO_RULES, type SiteRules } from '../rules/types.js';
import type { IndexReader } from './index-reader.js';
import { LeafPrefetcher } from './leaf-locator.js';
import type { LoadedRules } from './rules.js';
import { RangeReadStream, type RangeStreamOptions } from './range-stream.js';
import type { Entry, FileIdentity, StoredObject, VerifyReport, WebrootMeta } from './types.js';

const VERIFY_CHUNK = 1 << 20;

/**
 * What a server knows of the page cache, for Webroot.prefetch: whether a byte
 * range of the file (by its descriptor) is in memory now, and how to ask the
 * kernel to read a range into it in the background (posix_fadvise
 * POSIX_FADV_WILLNEED). Neither may wait for the disk.
 */
export interface PageCacheHints {
  /** true: cached; false: not (some of it); undefined: the kernel cannot say for this file. */
  resident(fd: number, position: number, size: number): boolean | undefined;
  /** Starts reading the range into the page cache; calls `done` once it no longer uses `fd` (kept open until then). */
  warm?(fd: number, position: number, length: number, done: () => void): void;
}

/**
 * How soon one file's entry lookup table may be asked into the page cache again (prefetch): 5 s after the
 * first time, then twice as long after each further time, up to WARM_INTERVAL_MAX_MS, so that a table the
 * page cache cannot keep (memory short) is not read again and again over the bodies' pages.
 */
export const WARM_INTERVAL_MS = 5_000;
export const WARM_INTERVAL_MAX_MS = 300_000;
/** The largest table read that way: 1 GiB (a table of ten million or so entries; a span larger than that is not one table). */
export const WARM_LIMIT_BYTES = 1 << 30;

/**
 * An open webroot: one file descriptor for the bytes, and its index, read on
 * demand (with bounded caches) through an SQLite connection to the same inode.
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
    private readonly index: IndexReader,
    private readonly db: Database.Database,
    readonly identity: FileIdentity,
    /** The site rules (format version 2), compiled on open; none for a version-1 file. */
    private readonly loadedRules?: LoadedRules,
  ) {}

  private allRules: SiteRules | undefined;

  /**
   * The entry at a site path ('/', '/a/b.html'), if any: from a bounded cache of
   * hot entries, else one indexed query. Throws WEBROOT_CORRUPT_INDEX for a
   * malformed row (a large index is not checked whole on open).
   */
  lookup(path: string): Entry | undefined {
    this.assertOpen();
    return this.index.lookup(path);
  }

  private prefetcher: LeafPrefetcher | null | undefined;

  /**
   * Whether `prefetch` can have anything to read: the file has the entry lookup
   * table and more entries than the entry cache holds (a smaller site is soon
   * all cached, and then a request need not ask).
   */
  get readsAhead(): boolean {
    return (this.readsAheadKnown ??= this.meta.entryCount > this.index.cacheCapacity && this.index.entryLookupRoot() !== undefined);
  }

  private readsAheadKnown: boolean | undefined;
  /** When `prefetch` last asked for the entry lookup table to be read into the page cache (Date.now()). */
  private warmedAt = -Infinity;
  /** How long after warmedAt the table may be asked in again (WARM_INTERVAL_MS, doubling). */
  private warmInterval = WARM_INTERVAL_MS;

  /**
   * Reads ahead, on the thread pool, the index page that `lookup(path)` will
   * read, when the entry is not cached and the file has the entry lookup table
   * (FORMAT.md section 1.3); resolves once it is read (or failed: a hint only).
   * undefined when nothing needs reading, or when `pages` (the caller's view of
   * the page cache) says that page is in memory already. A page not in memory
   * also has `pages.warm` asked to read the whole table into the page cache
   * (at most once per WARM_INTERVAL_MS per file, backing off): a site whose index is cold
   * (just deployed, after a reboot, or evicted) then pays one sequential read of
   * it instead of a random read per lookup. Where `pages` cannot say
   * (undefined), the page is read ahead only if `readsAheadUnknown`, and the
   * table is not asked for. For servers that overlap disk reads:
   * the lookup itself stays synchronous.
   */
  prefetch(path: string, pages?: PageCacheHints, readsAheadUnknown = true): Promise<void> | undefined {
    if (this.closed || this.index.isCached(path)) return undefined;
    if (this.prefetcher === undefined) {
      const root = this.index.entryLookupRoot();
      this.prefetcher = root === undefined ? null : new LeafPrefetcher(this.fd, root);
    }
    const prefetcher = this.prefetcher;
    const leaf = prefetcher?.leafOf(path);
    if (prefetcher == null || leaf === undefined) return undefined;
    if (pages !== undefined) {
      const resident = pages.resident(this.fd, leaf.position, leaf.size);
      if (resident === true || (resident === undefined && !readsAheadUnknown)) return undefined;
      const now = Date.now();
      if (resident === false && pages.warm !== undefined && now - this.warmedAt >= this.warmInterval) {
        if (this.warmedAt !== -Infinity) this.warmInterval = Math.min(this.warmInterval * 2, WARM_INTERVAL_MAX_MS);
        this.warmedAt = now;
        const span = prefetcher.span(WARM_LIMIT_BYTES);
        if (span !== undefined) {
          this.acquire();
          pages.warm(this.fd, span.position, span.length, () => this.release());
        }
      }
    }
    this.acquire(); // the descriptor stays open until the read is done
    return new Promise((resolve) => {
      fs.read(this.fd, Buffer.allocUnsafe(leaf.size), 0, leaf.size, leaf.position, () => {
        this.release();
        resolve();
      });
    });
  }

  /**
   * Every entry, in path order (bytewise UTF-8, SQLite's order), streamed a
   * page at a time: memory stays bounded however many entries there are.
   */
  *all(): Generator<Entry> {
    this.assertOpen();
    for (const e of this.index.all()) {
      this.assertOpen();
      yield e;
    }
  }

  /** The entries directly inside directory `dir` ('/' or '/a/b'), in path order. */
  children(dir: string): Entry[] {
    this.assertOpen();
    const out: Entry[] = [];
    for (const p of this.index.childPaths(dir)) {
      const e = this.index.lookup(p);
      if (e) out.push(e);
    }
    return out;
  }

  /** The number of entries (the meta table's count; `verify` checks it against the index). */
  get size(): number {
    return this.meta.entryCount;
  }

  /**
   * Every site rule as stored (format version 2; NO_RULES for version 1), in
   * file order: read from the index on first use (mkroot rules, diff, verify),
   * not on open, which reads only what serving needs (compiledRules).
   */
  get rules(): SiteRules {
    if (this.allRules === undefined) {
      this.assertOpen();
      this.allRules = this.loadedRules?.readAll() ?? NO_RULES;
    }
    return this.allRules;
  }

  /** The rules as a matcher, compiled and checked when the file was opened: what httpd and mkroot test-rules evaluate. */
  get compiledRules(): CompiledRules {
    return (this.compiled ??= this.loadedRules?.compiled ?? compileRules(NO_RULES));
  }

  private compiled: CompiledRules | undefined;

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
   * A readable stream over bytes [start, end] (inclusive) of `object`, straight
   * from the descriptor; destroying it never closes the descriptor (this
   * Webroot owns it). `options` is the chunk size, or chunk size and a source
   * of (reusable) chunk buffers.
   */
  createReadStream(object: StoredObject, start: number, end: number, options: number | RangeStreamOptions = 64 * 1024): RangeReadStream {
    this.assertOpen();
    const last = Math.min(end, object.length - 1);
    const opts = typeof options === 'number' ? { chunkSize: options } : options;
    return new RangeReadStream(this.fd, object.offset + start, object.offset + last + 1, this.file, opts);
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
   * overlap, and no gap but the zeros that align a large object), the digest of the object hashes against the meta table,
   * and the whole index against itself (counts, bounds, every row well-formed).
   * Memory stays bounded: one sorted scan of the objects table.
   */
  verify(): VerifyReport {
    this.assertOpen();
    const problems = this.index.checkWhole();
    const unowned = this.index.countUnowned();
    if (unowned > 0) problems.push(`${unowned} stored objects belong to no entry`);
    problems.push(...this.index.entryLookupProblems());
    const buf = Buffer.allocUnsafe(VERIFY_CHUNK);
    let expectedOffset = this.dataStart;
    const digest = crypto.createHash(HASH_ALGORITHM);
    let bytes = 0;
    let objects = 0;
    // Owners are looked up after the scan (the connection is busy during it).
    const misplaced: { id: number; at: number; expected: number }[] = [];
    const mismatched: { id: number; at: number }[] = [];
    this.index.forEachObjectByOffset((id, offset, length, hash) => {
      objects++;
      if (offset !== expectedOffset && !this.isAlignmentGap(expectedOffset, offset, length, buf)) misplaced.push({ id, at: offset - this.dataStart, expected: expectedOffset - this.dataStart });
      expectedOffset = offset + length;
      digest.update(hash);
      const h = crypto.createHash(HASH_ALGORITHM);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(this.fd, buf, 0, Math.min(VERIFY_CHUNK, length - done), offset + done);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        done += n;
      }
      bytes += done;
      if (done !== length || !h.digest().equals(hash)) mismatched.push({ id, at: offset - this.dataStart });
    });
    const shown = 20; // name the first few; a file with a million bad objects needs no million owner scans
    for (const m of misplaced.slice(0, shown)) problems.push(`${this.index.ownerOf(m.id)}: object at ${m.at} leaves a gap or overlaps (expected ${m.expected})`);
    if (misplaced.length > shown) problems.push(`${misplaced.length - shown} more objects leave gaps or overlap`);
    for (const m of mismatched.slice(0, shown)) problems.push(`${this.index.ownerOf(m.id)}: bytes at offset ${m.at} do not match their hash`);
    if (mismatched.length > shown) problems.push(`${mismatched.length - shown} more objects do not match their hash`);
    if (expectedOffset !== this.dataStart + this.meta.dataLength) problems.push(`objects end at ${expectedOffset - this.dataStart}, the data region at ${this.meta.dataLength}`);
    if (digest.digest('hex') !== this.meta.dataSha256) problems.push('digest of the object hashes does not match meta data_sha256');
    problems.push(...this.rulesProblems());
    return { ok: problems.length === 0, objectsChecked: objects, bytesChecked: bytes, problems };
  }

  /**
   * FORMAT.md section 2: the one gap allowed, in front of an object of ALIGNED_OBJECT_MIN bytes or more that
   * starts at a page boundary of the file, shorter than a page, and all zeros (read here, so that verify still
   * checks every byte of the region).
   */
  private isAlignmentGap(from: number, to: number, length: number, buf: Buffer): boolean {
    if (to < from || to - from >= ALIGNMENT || to % ALIGNMENT !== 0 || length < ALIGNED_OBJECT_MIN) return false;
    const n = fs.readSync(this.fd, buf, 0, to - from, from);
    return n === to - from && buf.subarray(0, n).every((b) => b === 0);
  }

  /** verify()'s checks of the rule tables: every rule (open reads only some), the digest, the lookup table. */
  private rulesProblems(): string[] {
    if (this.loadedRules === undefined) return [];
    let rules: SiteRules;
    try {
      rules = this.rules;
      compileRules(rules);
    } catch (err) {
      return [`site rules: ${(err as Error).message}`];
    }
    const problems: string[] = [];
    const rulesSha256 = this.loadedRules.digest;
    if (rulesSha256 !== undefined && rulesDigest(rules) !== rulesSha256) problems.push('digest of the site rules does not match meta rules_sha256');
    const lookupProblem = this.loadedRules.lookupProblem(rules);
    if (lookupProblem !== undefined) problems.push(lookupProblem);
    return problems;
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
    this.db.close();
    fs.closeSync(this.fd);
  }
}
