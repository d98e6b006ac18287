import type Database from 'better-sqlite3';
import { ENCODINGS, ENTRY_LOOKUP_SOURCE_SQL, ENTRY_LOOKUP_TABLE, ENTRY_TYPES_SOURCE_SQL, HASH_BYTES } from '../constants.js';

/**
 * The entry lookup table (FORMAT.md section 1.3): when a file has it, a lookup
 * is one query on one WITHOUT ROWID table, whose interior pages stay in
 * SQLite's cache, so a lookup reads one leaf page. Through entries, objects and
 * variants it read two leaves for a file without variants (measured on the 1M
 * bench site with its page cache dropped: 2.16 preads and 8 KiB from the disk
 * per lookup, against 1.08 and 4.1 KiB; bench/lookup-pages.mjs).
 */

/** One object's columns as the lookup query selects them: offset, length, hex(hash), hash well-formed. */
export type LookupObjectColumns = [number | null, number | null, string | null, number | null];
/** path, mtime, type id (NULL: a directory), then the identity object and one object per encoding (ENCODINGS order). */
export type LookupRow = [string, number, number | null, ...(number | string | null)[]];

// hex(NULL) is '': nullif makes an absent hash NULL, as an absent object's columns are.
const objectColumns = (prefix: string) =>
  `${prefix}offset, ${prefix}length, nullif(hex(${prefix}hash), ''), typeof(${prefix}hash) = 'blob' AND length(${prefix}hash) = ${HASH_BYTES}`;

/** The one query of a lookup. Columns per encoding are named after it (br_offset, gzip_offset, ...). */
export const LOOKUP_BY_PATH = `SELECT path, mtime, type, ${objectColumns('')}, ${ENCODINGS.map((e) => objectColumns(`${e}_`)).join(', ')}
  FROM ${ENTRY_LOOKUP_TABLE} WHERE path = ?`;

/** Whether the index has the entry lookup table (files written before it do not). */
export function hasEntryLookup(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(ENTRY_LOOKUP_TABLE) !== undefined;
}

/**
 * entry_types, read on open (a site has a few dozen types). Returns the types
 * by id, or a problem: ids must be 1, 2, ... and the types text.
 */
export function readEntryTypes(db: Database.Database): Map<number, string> | string {
  const types = new Map<number, string>();
  for (const [id, mime] of db.prepare('SELECT id, mime FROM entry_types ORDER BY id').raw().iterate() as IterableIterator<[number, unknown]>) {
    if (id !== types.size + 1 || typeof mime !== 'string') return `entry_types row ${id} is malformed (ids 1, 2, ..., each a type)`;
    types.set(id, mime);
  }
  return types;
}

/**
 * verify()'s check of the table: exactly the rows ENTRY_LOOKUP_SOURCE_SQL derives
 * from the other tables (both ways), and entry_types exactly the distinct types.
 * One pass over each table (measured: ~2 s for a million entries).
 */
export function entryLookupProblems(db: Database.Database): string[] {
  const problems: string[] = [];
  const types = db.prepare(`SELECT count(*) FROM (SELECT mime FROM entry_types EXCEPT ${ENTRY_TYPES_SOURCE_SQL})`).pluck().get() as number;
  const expectedTypes = db.prepare(`SELECT count(*) FROM (${ENTRY_TYPES_SOURCE_SQL})`).pluck().get() as number;
  const haveTypes = db.prepare('SELECT count(*) FROM entry_types').pluck().get() as number;
  if (types !== 0 || expectedTypes !== haveTypes) problems.push('entry_types does not hold exactly the types of the entries');
  const columns = 'path, mtime, type, offset, length, hash, br_offset, br_length, br_hash, gzip_offset, gzip_length, gzip_hash';
  const extra = db.prepare(`SELECT path FROM (SELECT ${columns} FROM ${ENTRY_LOOKUP_TABLE} EXCEPT ${ENTRY_LOOKUP_SOURCE_SQL}) LIMIT 1`).pluck().get() as string | undefined;
  if (extra !== undefined) problems.push(`entry_lookup row ${JSON.stringify(extra)} does not match entries, objects and variants`);
  const missing = db.prepare(`SELECT path FROM (${ENTRY_LOOKUP_SOURCE_SQL} EXCEPT SELECT ${columns} FROM ${ENTRY_LOOKUP_TABLE}) LIMIT 1`).pluck().get() as string | undefined;
  if (missing !== undefined) problems.push(`entry_lookup has no row matching entry ${JSON.stringify(missing)}`);
  return problems;
}
