import type Database from 'better-sqlite3';
import { ENCODINGS, ENTRY_LOOKUP_TABLE, HASH_BYTES, etagFromHash, type Encoding } from '../constants.js';
import { WebrootError } from '../errors.js';
import { BoundedCache } from './bounded-cache.js';
import { LOOKUP_BY_PATH, entryLookupProblems, hasEntryLookup, readEntryTypes, type LookupObjectColumns, type LookupRow } from './entry-lookup.js';
import type { Entry, StoredObject, Variant, WebrootMeta } from './types.js';

/**
 * A stored object as read from the index. The hash stays hex text, and the
 * ETag is made on first use; `hash` makes a new Buffer per call rather than
 * keeping one: a small Buffer is a slice of a shared 8 KiB pool slab and pins
 * all of it, so 16,000 cached objects with a kept 32-byte hash held 84 MB of
 * slabs in a worker serving a 100,000-file rotation (a heap snapshot showed it).
 */
class IndexedObject implements StoredObject {
  private tag: string | undefined;

  constructor(
    readonly offset: number,
    readonly length: number,
    private readonly hashHex: string,
  ) {}

  get hash(): Buffer {
    return Buffer.from(this.hashHex, 'hex');
  }

  get etag(): string {
    return (this.tag ??= etagFromHash(Buffer.from(this.hashHex.slice(0, 32), 'hex')));
  }
}

/**
 * Columns of one object, as every query below selects them: a key that names it (its id; for the entry
 * lookup table, its hex hash), offset, length, hex(hash), hash well-formed.
 */
type ObjectColumns = [number | string | null, number | null, number | null, string | null, number | null];
/** path, kind, mtime, mime, then the entry's object. */
type EntryRow = [string, string, number, string | null, ...ObjectColumns];
/** path, encoding, then the variant's object. */
type VariantRow = [string, string, ...ObjectColumns];

const OBJECT_COLUMNS = (o: string) => `${o}.id, ${o}.offset, ${o}.length, hex(${o}.hash), typeof(${o}.hash) = 'blob' AND length(${o}.hash) = ${HASH_BYTES}`;
const ENTRY_SELECT = `SELECT e.path, e.kind, e.mtime, e.mime, ${OBJECT_COLUMNS('o')} FROM entries e LEFT JOIN objects o ON o.id = e.object_id`;
const VARIANT_SELECT = `SELECT v.path, v.encoding, ${OBJECT_COLUMNS('o')} FROM variants v LEFT JOIN objects o ON o.id = v.object_id`;

/** Entries per query when listing; a page is read whole, so no statement stays open between pages. */
const PAGE = 512;

/**
 * The index of an open webroot, read on demand from its SQLite database with
 * bounded caches of hot entries and objects, instead of loaded whole: opening
 * costs the same for ten files and for a million, and memory stays bounded.
 * Every row is checked as it is read (object inside the data region, a
 * well-formed hash, a type for every file); a malformed one is refused with
 * WEBROOT_CORRUPT_INDEX. `checkWhole` runs the same checks over every table.
 */
export class IndexReader {
  private readonly entryCache: BoundedCache<string, Entry | null>;
  /** Objects by id (or hash), so entries sharing bytes share one StoredObject while both are cached. */
  private readonly objectCache: BoundedCache<number | string, StoredObject>;
  private readonly entryByPath: Database.Statement;
  /** The entry lookup table's query and its types by id, when the file has the table (FORMAT.md section 1.3). */
  private readonly lookupRow: Database.Statement | undefined;
  private readonly types: Map<number, string> | undefined;
  private readonly entryPage: Database.Statement;
  private readonly variantRange: Database.Statement;
  private readonly childScan: Database.Statement;
  /** One string per distinct media type, instead of one per entry read (a site has a few dozen). */
  private readonly mimes = new Map<string, string>();

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly dataStart: number,
    private readonly meta: WebrootMeta,
    cacheEntries: number,
  ) {
    this.entryCache = new BoundedCache(cacheEntries);
    this.objectCache = new BoundedCache(cacheEntries);
    // Preparing checks the schema: a missing table or column fails here, on open.
    // One statement per lookup, variants joined in (one row each, or one row of NULLs):
    // each better-sqlite3 call has a fixed cost, and a second statement per file doubled it.
    this.entryByPath = db
      .prepare(
        `SELECT e.path, e.kind, e.mtime, e.mime, ${OBJECT_COLUMNS('o')}, v.encoding, ${OBJECT_COLUMNS('vo')}
         FROM entries e LEFT JOIN objects o ON o.id = e.object_id
         LEFT JOIN variants v ON v.path = e.path LEFT JOIN objects vo ON vo.id = v.object_id
         WHERE e.path = ?`,
      )
      .raw();
    this.entryPage = db.prepare(`${ENTRY_SELECT} WHERE e.path > ? ORDER BY e.path LIMIT ${PAGE}`).raw();
    this.variantRange = db.prepare(`${VARIANT_SELECT} WHERE v.path > ? AND v.path <= ?`).raw();
    this.childScan = db.prepare(`SELECT path FROM entries WHERE path >= ? AND path < ? ORDER BY path LIMIT ${PAGE}`).pluck();
    if (hasEntryLookup(db)) {
      this.lookupRow = db.prepare(LOOKUP_BY_PATH).raw();
      const types = readEntryTypes(db);
      if (typeof types === 'string') throw this.corrupt(types);
      this.types = types;
    }
  }

  /** The entry at `path`, from the cache or one query (two for a file with variants). */
  lookup(path: string): Entry | undefined {
    const cached = this.entryCache.get(path);
    if (cached !== undefined) return cached ?? undefined;
    if (this.entryCache.has(path)) return undefined;
    if (this.lookupRow !== undefined) {
      const row = this.lookupRow.get(path) as LookupRow | undefined;
      const found = row === undefined ? null : this.fromLookupRow(row);
      this.entryCache.set(path, found);
      return found ?? undefined;
    }
    const rows = this.entryByPath.all(path) as [...EntryRow, string | null, ...ObjectColumns][];
    let entry: Entry | null = null;
    if (rows.length > 0) {
      const variants: VariantRow[] = [];
      for (const r of rows) if (r[9] !== null) variants.push([path, r[9], ...(r.slice(10) as ObjectColumns)]);
      entry = this.toEntry(rows[0]!.slice(0, 9) as EntryRow, variants);
    }
    this.entryCache.set(path, entry);
    return entry ?? undefined;
  }

  /** An entry_lookup row as the entry it stands for, with the same checks as a row of entries (toEntry). */
  private fromLookupRow(row: LookupRow): Entry {
    const [path, mtime, type] = row;
    const object = (at: number): ObjectColumns => {
      const [offset, length, hex, wellFormed] = row.slice(at, at + 4) as LookupObjectColumns;
      return [hex, offset, length, hex, wellFormed];
    };
    if (type === null) return this.toEntry([path, 'directory', mtime, null, ...object(3)], []);
    const mime = this.types!.get(type);
    if (mime === undefined) throw this.corrupt(`entry ${path} has type ${type}, which entry_types does not hold`);
    const variants: VariantRow[] = [];
    ENCODINGS.forEach((encoding, i) => {
      const cols = object(7 + 4 * i);
      if (cols[1] !== null || cols[3] !== null) variants.push([path, encoding, ...cols]);
    });
    return this.toEntry([path, 'file', mtime, mime, ...object(3)], variants);
  }

  /** Every entry in path order (SQLite's: bytewise UTF-8), a page at a time; the caches are not filled. */
  *all(): Generator<Entry> {
    let after = '';
    for (;;) {
      const rows = this.entryPage.all(after) as EntryRow[];
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]![0];
      const variants = new Map<string, VariantRow[]>();
      for (const v of this.variantRange.all(after, last) as VariantRow[]) {
        const list = variants.get(v[0]);
        if (list) list.push(v);
        else variants.set(v[0], [v]);
      }
      after = last;
      for (const row of rows) yield this.toEntry(row, variants.get(row[0]) ?? [], false);
      if (rows.length < PAGE) return;
    }
  }

  /**
   * Paths directly inside directory `dir` ('/' or '/a/b'), in path order. The
   * scan skips each subdirectory's descendants with one seek (past 'sub/' comes
   * 'sub0'), so listing the root of a million-file site reads its children only.
   */
  childPaths(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const end = `${prefix.slice(0, -1)}0`; // '0' follows '/': [prefix, end) holds exactly the descendants
    const out: string[] = [];
    let from = prefix;
    for (;;) {
      const paths = this.childScan.all(from, end) as string[];
      if (paths.length === 0) return out;
      let next: string | undefined;
      for (const p of paths) {
        if (p.length === prefix.length) continue; // the directory itself ('/')
        const slash = p.indexOf('/', prefix.length);
        if (slash === -1) {
          out.push(p);
          continue;
        }
        next = `${p.slice(0, slash)}0`; // past every descendant of that subdirectory
        break;
      }
      if (next === undefined) {
        if (paths.length < PAGE) return out;
        next = `${paths[paths.length - 1]!}\0`; // just after the last path read
      }
      from = next;
    }
  }

  private corrupt(message: string): WebrootError {
    return new WebrootError('WEBROOT_CORRUPT_INDEX', `${this.file}: ${message}; rebuild it with mkroot`, this.file);
  }

  private toObject(cols: ObjectColumns, what: string, cache: boolean): StoredObject {
    const [id, offset, length, hex, wellFormed] = cols;
    if (id === null || offset === null || length === null || hex === null) throw this.corrupt(`${what} has no stored object`);
    if (cache) {
      const known = this.objectCache.get(id);
      if (known !== undefined) return known;
    }
    if (wellFormed !== 1) throw this.corrupt(`object ${id} (${what}) has a malformed hash`);
    if (!(offset >= 0 && length >= 0 && offset + length <= this.meta.dataLength)) {
      throw this.corrupt(`object ${id} (offset ${offset}, length ${length}) lies outside the data region of ${this.meta.dataLength} bytes`);
    }
    const object = new IndexedObject(this.dataStart + offset, length, hex);
    if (cache) this.objectCache.set(id, object);
    return object;
  }

  private toEntry(row: EntryRow, variantRows: VariantRow[], cache = true): Entry {
    const [path, kind, mtime, mime] = row;
    if (path.charCodeAt(0) !== 0x2f) throw this.corrupt(`entry path ${JSON.stringify(path)} does not start with '/'`);
    if (kind === 'directory') return { kind: 'directory', path, mtime };
    if (kind !== 'file') throw this.corrupt(`entry ${path} has unknown kind ${JSON.stringify(kind)}`);
    if (mime === null) throw this.corrupt(`file entry ${path} has no type`);
    let type = this.mimes.get(mime);
    if (type === undefined) {
      type = mime;
      if (this.mimes.size < 1024) this.mimes.set(mime, mime);
    }
    const object = this.toObject(row.slice(4) as ObjectColumns, `file entry ${path}`, cache);
    const variants: Variant[] = [];
    for (const v of variantRows) {
      const encoding = v[1] as Encoding;
      if (!ENCODINGS.includes(encoding)) throw this.corrupt(`variant ${v[1]} of ${path} is malformed`);
      variants.push({ encoding, object: this.toObject(v.slice(2) as ObjectColumns, `variant ${encoding} of ${path}`, cache) });
    }
    if (variants.length > 1) variants.sort((a, b) => ENCODINGS.indexOf(a.encoding) - ENCODINGS.indexOf(b.encoding));
    return { kind: 'file', path, mtime, mime: type, object, variants };
  }

  /**
   * The per-row checks, over whole tables in SQL (one pass each, no row
   * objects), plus the counts against the meta table. O(entries): run on open
   * for small indexes and by `verify`. Returns the problems found.
   */
  checkWhole(): string[] {
    const db = this.db;
    const problems: string[] = [];
    const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    const objects = count('objects');
    if (objects !== this.meta.objectCount) problems.push(`meta says ${this.meta.objectCount} objects, the index has ${objects}`);
    const entries = count('entries');
    if (entries !== this.meta.entryCount) problems.push(`meta says ${this.meta.entryCount} entries, the index has ${entries}`);
    const first = (sql: string, ...params: unknown[]) => db.prepare(sql).raw().get(...params) as unknown[] | undefined;
    const badHash = first('SELECT id FROM objects WHERE typeof(hash) != ? OR length(hash) != ? LIMIT 1', 'blob', HASH_BYTES);
    if (badHash) problems.push(`object ${badHash[0]} has a malformed hash`);
    const outside = first('SELECT id, offset, length FROM objects WHERE offset < 0 OR length < 0 OR offset + length > ? LIMIT 1', this.meta.dataLength);
    if (outside) problems.push(`object ${outside[0]} (offset ${outside[1]}, length ${outside[2]}) lies outside the data region of ${this.meta.dataLength} bytes`);
    const badEntry = first(
      `SELECT path FROM entries WHERE substr(path, 1, 1) != '/' OR kind NOT IN ('file', 'directory')
         OR (kind = 'file' AND (mime IS NULL OR object_id IS NULL OR object_id NOT IN (SELECT id FROM objects))) LIMIT 1`,
    );
    if (badEntry) problems.push(`entry ${JSON.stringify(badEntry[0])} is malformed (path, kind, type or object)`);
    const badVariant = first(
      `SELECT path, encoding FROM variants WHERE encoding NOT IN (${ENCODINGS.map((e) => `'${e}'`).join(', ')})
         OR object_id NOT IN (SELECT id FROM objects) OR path NOT IN (SELECT path FROM entries WHERE kind = 'file') LIMIT 1`,
    );
    if (badVariant) problems.push(`variant ${badVariant[1]} of ${badVariant[0]} is malformed or belongs to no file`);
    return problems;
  }

  /**
   * Calls `fn` for every object in offset order (one sorted scan; nothing else
   * may query this connection meanwhile, so `fn` must not look entries up).
   */
  forEachObjectByOffset(fn: (id: number, offset: number, length: number, hash: Buffer) => void): void {
    const rows = this.db.prepare('SELECT id, offset, length, hash FROM objects ORDER BY offset, length, id').raw().iterate() as IterableIterator<[number, number, number, Buffer]>;
    for (const [id, offset, length, hash] of rows) fn(id, this.dataStart + offset, length, hash);
  }

  /** How many entries the entry cache holds at most. */
  get cacheCapacity(): number {
    return this.entryCache.capacity;
  }

  /** Whether a lookup of `path` would be answered from the cache (no SQL). */
  isCached(path: string): boolean {
    return this.entryCache.has(path);
  }

  /** The root page of the entry lookup table's B-tree, when the file has the table. */
  entryLookupRoot(): number | undefined {
    if (this.lookupRow === undefined) return undefined;
    return this.db.prepare("SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(ENTRY_LOOKUP_TABLE) as number | undefined;
  }

  /** verify()'s check of the entry lookup table against the tables it is derived from; none when the file has no such table. */
  entryLookupProblems(): string[] {
    return this.lookupRow === undefined ? [] : entryLookupProblems(this.db);
  }

  /** Objects that no entry and no variant uses. */
  countUnowned(): number {
    return this.db
      .prepare('SELECT count(*) FROM objects WHERE id NOT IN (SELECT object_id FROM entries WHERE object_id IS NOT NULL UNION SELECT object_id FROM variants)')
      .pluck()
      .get() as number;
  }

  /** A path that uses object `id`, for messages (a table scan: only for problems). */
  ownerOf(id: number): string {
    const path = this.db.prepare('SELECT path FROM entries WHERE object_id = ? LIMIT 1').pluck().get(id) as string | undefined;
    if (path !== undefined) return path;
    const v = this.db.prepare('SELECT path, encoding FROM variants WHERE object_id = ? LIMIT 1').raw().get(id) as [string, string] | undefined;
    return v ? `${v[0]} (${v[1]})` : `object ${id}`;
  }
}
