import fs from 'node:fs';
import Database from 'better-sqlite3';
import {
  APPLICATION_ID,
  ENTRY_LOOKUP_SCHEMA_SQL,
  ENTRY_LOOKUP_SOURCE_SQL,
  ENTRY_TYPES_SOURCE_SQL,
  FORMAT_VERSION,
  RULES_SCHEMA_SQL,
  SCHEMA_SQL,
  type Encoding,
} from '../constants.js';
import { writeAllAt } from '../fs-sync.js';
import { redirectLookupRows } from '../rules/lookup-rows.js';
import type { SiteRules } from '../rules/types.js';
import { KeySet, digestPair, hashPair } from './key-set.js';
import { RowBatch } from './row-batch.js';
import { removeTemporary, temporaryPathFor } from './temp-files.js';

/**
 * SQLite's page cache for the index being built, in KiB (negative: a size, not a
 * page count). It bounds the writer's memory whatever the entry count: the index
 * of a million files is about 150 MB, and pages beyond this go to the temporary
 * file (and the OS page cache). 64 MiB holds the objects' hash index of a
 * million files, whose inserts land at random pages. Rows go in through
 * multi-row statements (RowBatch); which hashes and paths are taken is known in
 * memory (two KeySets), so no row needs a statement of its own.
 */
const BUILD_CACHE_KIB = 64 * 1024;
const VACUUM_CACHE_KIB = 8 * 1024;
const COPY_CHUNK = 4 << 20;

/**
 * Header fields of the SQLite image that record how it was written, not what it
 * holds (SQLite file format, "The Database Header"): the file change counter
 * (offset 24), the version-valid-for number (92) and the library version (96).
 * mkroot used to serialise an in-memory database, which leaves all three zero;
 * an on-disk build sets them. Zeroing them keeps the output byte-identical to
 * those builds and independent of the SQLite version. The in-header page count
 * stays valid, since the change counter still equals version-valid-for.
 */
const HISTORY_FIELDS: readonly [offset: number, length: number][] = [
  [24, 4],
  [92, 8],
];

export interface IndexMeta {
  generator: string;
  created: number;
  dataOffset: number;
  dataLength: number;
  dataSha256: string;
  rulesSha256: string;
}

/** An object the index already holds. */
export interface StoredObject {
  id: number;
  length: number;
}

/**
 * The index of a webroot being written (FORMAT.md section 1), built row by row,
 * inside one transaction, in a temporary SQLite file next to the output: the
 * writer holds no per-file record in memory, and SQLite's B-trees sort the paths
 * (a WITHOUT ROWID table keyed by path) instead of JavaScript. `imageSize()`
 * vacuums it into a second temporary file, the image that `copyImage()` puts at
 * offset 0 of the webroot. VACUUM lays out pages from the content alone, so the
 * image does not depend on the order rows were inserted in.
 *
 * Variants shared by every file with the same identity bytes (mkroot's
 * precompression, which finishes after later files were added) live in a
 * separate, attached scratch database until `imageSize()` joins them onto
 * their files, so the index's own schema is exactly FORMAT.md's.
 */
export class IndexBuilder {
  private readonly dest: string;
  private readonly dbPath: string;
  private imagePath: string | undefined;
  private readonly db: Database.Database;
  /** Hashes stored so far, by their first 8 bytes (a maybe is checked in SQLite): an object row is only ever inserted. */
  private readonly hashes = new KeySet();
  private readonly objectRows: RowBatch;
  private readonly selectObject: Database.Statement;
  /** Paths taken so far (a maybe is checked in SQLite): an entry row is only ever inserted. */
  private readonly paths = new KeySet();
  private readonly entryRows: RowBatch;
  private readonly memberRows: RowBatch;
  private readonly selectEntry: Database.Statement;
  private readonly insertVariantRow: Database.Statement;
  private readonly insertGroup: Database.Statement;
  private readonly selectGroup: Database.Statement;
  private readonly insertGroupVariant: Database.Statement;
  private committed = false;

  /** `entryLookup: false` leaves the entry lookup table out (FORMAT.md section 1.3): the files of earlier writers. */
  constructor(
    dest: string,
    private readonly options: { entryLookup: boolean } = { entryLookup: true },
  ) {
    this.dest = dest;
    this.dbPath = temporaryPathFor(dest, 'index-build');
    try {
      this.db = new Database(this.dbPath);
    } catch (err) {
      removeTemporary(this.dbPath);
      throw err;
    }
    const db = this.db;
    try {
      // A scratch file: nothing to recover after a crash (the output is a temporary file too).
      // (OFF is refused in better-sqlite3's defensive mode; the rollback journal only ever holds the
      // few pages that existed before the one transaction began, so MEMORY keeps it small.)
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      db.pragma(`cache_size = -${BUILD_CACHE_KIB}`);
      db.pragma('page_size = 4096');
      // The builder itself only ever references rows it added (objects by id, entries by path),
      // and better-sqlite3 turns foreign keys on: a lookup per inserted row otherwise.
      db.pragma('foreign_keys = OFF');
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${FORMAT_VERSION}`);
      db.exec(SCHEMA_SQL);
      db.exec(RULES_SCHEMA_SQL);
      if (options.entryLookup) db.exec(ENTRY_LOOKUP_SCHEMA_SQL);
      // '' is a private temporary database on disk, deleted when closed.
      db.exec(`ATTACH '' AS scratch;
        CREATE TABLE scratch.groups (identity INTEGER PRIMARY KEY);
        CREATE TABLE scratch.group_variants (identity INTEGER NOT NULL, encoding TEXT NOT NULL, object_id INTEGER NOT NULL, PRIMARY KEY (identity, encoding)) WITHOUT ROWID;
        CREATE TABLE scratch.members (path TEXT PRIMARY KEY) WITHOUT ROWID;`);
      // One transaction for the whole build: no commit per row.
      db.exec('BEGIN');
      this.objectRows = new RowBatch(db, 'INSERT INTO objects (id, hash, offset, length)', 4);
      this.entryRows = new RowBatch(db, 'INSERT INTO entries (path, kind, mtime, mime, object_id)', 5);
      this.memberRows = new RowBatch(db, 'INSERT INTO scratch.members (path)', 1);
      this.selectEntry = db.prepare('SELECT 1 FROM entries WHERE path = ?').pluck();
      this.selectObject = db.prepare('SELECT id, length FROM objects WHERE hash = ?').raw();
      this.insertVariantRow = db.prepare('INSERT INTO variants (path, encoding, object_id) VALUES (?, ?, ?)');
      this.insertGroup = db.prepare('INSERT OR IGNORE INTO scratch.groups (identity) VALUES (?)');
      this.selectGroup = db.prepare('SELECT 1 FROM scratch.groups WHERE identity = ?').pluck();
      this.insertGroupVariant = db.prepare('INSERT INTO scratch.group_variants (identity, encoding, object_id) VALUES (?, ?, ?)');
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Adds the object row unless an object with this hash exists; returns the existing one, or undefined when added. */
  addObject(id: number, hash: Buffer, offset: number, length: number): StoredObject | undefined {
    const existing = this.findObject(hash);
    if (existing) return existing;
    this.hashes.add(digestPair(hash));
    this.objectRows.add(id, hash, offset, length);
    return undefined;
  }

  findObject(hash: Buffer): StoredObject | undefined {
    if (!this.hashes.has(digestPair(hash))) return undefined;
    // Stored already, or another hash with the same first 8 bytes: SQLite knows, once the pending rows are in.
    this.objectRows.flush();
    const row = this.selectObject.get(hash) as [number, number] | undefined;
    return row && { id: row[0], length: row[1] };
  }

  /** False when the path is already taken. */
  addFile(path: string, mtime: number, mime: string, objectId: number): boolean {
    return this.insertEntry(path, 'file', mtime, mime, objectId);
  }

  addDirectory(path: string, mtime: number): boolean {
    return this.insertEntry(path, 'directory', mtime, null, null);
  }

  addVariant(path: string, encoding: Encoding, objectId: number): void {
    this.insertVariantRow.run(path, encoding, objectId);
  }

  /** Declares that the identity object `identity` has shared variants (added later by addSharedVariant). */
  shareVariants(identity: number): void {
    this.insertGroup.run(identity);
  }

  hasSharedVariants(identity: number): boolean {
    return this.selectGroup.get(identity) !== undefined;
  }

  addSharedVariant(identity: number, encoding: Encoding, objectId: number): void {
    this.insertGroupVariant.run(identity, encoding, objectId);
  }

  /** The file at `path` gets the shared variants of its identity object, whenever they are added. */
  takeSharedVariants(path: string): void {
    this.memberRows.add(path);
  }

  /** Writes the meta and rule tables, commits, and vacuums the index into its image; returns the image's size. */
  imageSize(meta: IndexMeta, entryCount: number, objectCount: number, rules: SiteRules): number {
    if (!this.committed) {
      this.flushRows();
      this.db.exec(`INSERT INTO variants (path, encoding, object_id)
        SELECT m.path, g.encoding, g.object_id FROM scratch.members m
        JOIN entries e ON e.path = m.path JOIN scratch.group_variants g ON g.identity = e.object_id`);
      const insert = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      insert.run('format_version', String(FORMAT_VERSION));
      insert.run('generator', meta.generator);
      insert.run('created', String(Math.floor(meta.created)));
      insert.run('entry_count', String(entryCount));
      insert.run('object_count', String(objectCount));
      insert.run('data_offset', String(meta.dataOffset));
      insert.run('data_length', String(meta.dataLength));
      insert.run('data_sha256', meta.dataSha256);
      insert.run('rules_sha256', meta.rulesSha256);
      insertRules(this.db, rules);
      if (this.options.entryLookup) {
        // Derived from the finished tables in two statements (measured: ~1.5 s for a million entries).
        this.db.exec(`INSERT INTO entry_types (mime) ${ENTRY_TYPES_SOURCE_SQL}`);
        this.db.exec(`INSERT INTO entry_lookup ${ENTRY_LOOKUP_SOURCE_SQL} ORDER BY e.path`);
      }
      this.db.exec('COMMIT');
      this.committed = true;
    } else {
      this.db.prepare("UPDATE meta SET value = ? WHERE key = 'data_offset'").run(String(meta.dataOffset));
    }
    if (this.imagePath) removeTemporary(this.imagePath);
    this.imagePath = temporaryPathFor(this.dest, 'index-image');
    // VACUUM reads and writes in order: a small cache does, and the image's own pager takes
    // this connection's cache size too (a second 64 MiB at the peak otherwise).
    this.db.pragma(`cache_size = -${VACUUM_CACHE_KIB}`);
    this.db.prepare('VACUUM INTO ?').run(this.imagePath);
    return fs.statSync(this.imagePath).size;
  }

  /** Copies the image made by imageSize() to offset 0 of `fd`. */
  copyImage(fd: number): void {
    if (!this.imagePath) throw new Error('IndexBuilder: copyImage before imageSize');
    const from = fs.openSync(this.imagePath, 'r');
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (let at = 0; ; ) {
        const n = fs.readSync(from, buf, 0, buf.length, at);
        if (n === 0) break;
        if (at === 0) for (const [offset, length] of HISTORY_FIELDS) buf.fill(0, offset, offset + length);
        writeAllAt(fd, buf.subarray(0, n), at);
        at += n;
      }
    } finally {
      fs.closeSync(from);
    }
  }

  /** Closes the database and removes every temporary file. */
  close(): void {
    if (this.db?.open) this.db.close();
    removeTemporary(this.dbPath);
    if (this.imagePath) removeTemporary(this.imagePath);
  }

  private insertEntry(path: string, kind: 'file' | 'directory', mtime: number, mime: string | null, objectId: number | null): boolean {
    if (!this.paths.add(hashPair(path))) {
      // Maybe taken (or a hash-pair collision): SQLite knows, once the pending rows are in.
      this.entryRows.flush();
      if (this.selectEntry.get(path) !== undefined) return false;
    }
    this.entryRows.add(path, kind, mtime, mime, objectId);
    return true;
  }

  private flushRows(): void {
    this.objectRows.flush();
    this.entryRows.flush();
    this.memberRows.flush();
  }
}

/** The rule tables of FORMAT.md section 1.2, rows in file order. */
function insertRules(db: Database.Database, r: SiteRules): void {
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
