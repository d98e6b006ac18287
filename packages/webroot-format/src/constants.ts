/**
 * Every number and name that defines the webroot format, in one place.
 * FORMAT.md documents each of them; the reader and the writer both import them
 * from here, so neither can drift from the other.
 */

/** `PRAGMA application_id`: the four ASCII bytes "WBRT", read big-endian. */
export const APPLICATION_ID = 0x57425254;

/** `PRAGMA user_version`: the format version this code writes. */
export const FORMAT_VERSION = 2;

/** Versions this reader opens: 1 (no rule tables: a site without rules) and 2. */
export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];

/** The first 16 bytes of every SQLite 3 database (and so of every webroot file). */
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Offsets inside the 100-byte SQLite header (all big-endian, per the SQLite file format). */
export const SQLITE_HEADER = {
  size: 100,
  pageSizeOffset: 16, // u16; the value 1 means 65536
  pageCountOffset: 28, // u32; the "in-header database size" in pages
  userVersionOffset: 60, // u32
  applicationIdOffset: 68, // u32
} as const;

/** Index pages and the data region are aligned to this. */
export const ALIGNMENT = 4096;

/**
 * Objects of at least this many bytes start at a multiple of ALIGNMENT in the file (FORMAT.md section 2):
 * the writer leaves a gap of zeros, under ALIGNMENT bytes, in front of them. httpd sends such bodies with
 * sendfile(2), which on Linux cost about a sixth less CPU from a page boundary and nothing less from inside
 * a page (packages/httpd/README.md, "sendfile(2)").
 */
export const ALIGNED_OBJECT_MIN = 64 * 1024;

/** Hash used for object identity, ETags and the data-region digest. */
export const HASH_ALGORITHM = 'sha256';
export const HASH_BYTES = 32;

/** Content codings a variant may have, in the server's order of preference. */
export const ENCODINGS = ['br', 'gzip'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** Kinds of entry in the `entries` table. */
export const ENTRY_KINDS = ['file', 'directory'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** Keys of the `meta` table that every version-1 file has. */
export const META_KEYS = [
  'format_version',
  'generator',
  'created',
  'entry_count',
  'object_count',
  'data_offset',
  'data_length',
  'data_sha256',
] as const;
export type MetaKey = (typeof META_KEYS)[number];

/** The schema the writer creates and the reader expects. */
export const SCHEMA_SQL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE objects (
  id     INTEGER PRIMARY KEY,
  hash   BLOB    NOT NULL UNIQUE,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL
);
CREATE TABLE entries (
  path      TEXT    PRIMARY KEY,
  kind      TEXT    NOT NULL CHECK (kind IN ('file', 'directory')),
  mtime     INTEGER NOT NULL,
  mime      TEXT,
  object_id INTEGER REFERENCES objects (id),
  CHECK ((kind = 'file') = (object_id IS NOT NULL AND mime IS NOT NULL))
) WITHOUT ROWID;
CREATE TABLE variants (
  path      TEXT    NOT NULL REFERENCES entries (path),
  encoding  TEXT    NOT NULL CHECK (encoding IN ('br', 'gzip')),
  object_id INTEGER NOT NULL REFERENCES objects (id),
  PRIMARY KEY (path, encoding)
) WITHOUT ROWID;
`;

/** Version 2: the site rules (FORMAT.md section 1.2), created after SCHEMA_SQL. */
export const RULES_SCHEMA_SQL = `
CREATE TABLE redirect_rules (
  position  INTEGER PRIMARY KEY,
  line      INTEGER NOT NULL,
  source    TEXT    NOT NULL,
  host      TEXT,
  from_path TEXT    NOT NULL,
  query     TEXT    NOT NULL,
  to_target TEXT    NOT NULL,
  status    INTEGER NOT NULL,
  force     INTEGER NOT NULL CHECK (force IN (0, 1))
);
CREATE TABLE header_blocks (
  position INTEGER PRIMARY KEY,
  line     INTEGER NOT NULL,
  host     TEXT,
  pattern  TEXT    NOT NULL
);
CREATE TABLE header_fields (
  block    INTEGER NOT NULL REFERENCES header_blocks (position),
  position INTEGER NOT NULL,
  line     INTEGER NOT NULL,
  name     TEXT    NOT NULL,
  value    TEXT,
  PRIMARY KEY (block, position)
) WITHOUT ROWID;
CREATE TABLE build_options (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE redirect_lookup (
  path     TEXT    NOT NULL,
  host     TEXT    NOT NULL,
  position INTEGER NOT NULL REFERENCES redirect_rules (position),
  PRIMARY KEY (path, host, position)
) WITHOUT ROWID;
`;

/**
 * The entry lookup table (FORMAT.md section 1.3): one row per `entries` row holding
 * everything a response needs (type, mtime, the identity object and each variant's
 * offset, length and hash), so that looking a path up reads one B-tree leaf instead of
 * an entries leaf, an objects leaf and, with variants, a variants leaf and one objects
 * leaf per variant. Derived data, optional within version 2 (like redirect_lookup).
 */
export const ENTRY_LOOKUP_TABLE = 'entry_lookup';
export const ENTRY_LOOKUP_SCHEMA_SQL = `
CREATE TABLE entry_types (
  id   INTEGER PRIMARY KEY,
  mime TEXT    NOT NULL UNIQUE
);
CREATE TABLE entry_lookup (
  path        TEXT    PRIMARY KEY,
  mtime       INTEGER NOT NULL,
  type        INTEGER REFERENCES entry_types (id),
  offset      INTEGER,
  length      INTEGER,
  hash        BLOB,
  br_offset   INTEGER,
  br_length   INTEGER,
  br_hash     BLOB,
  gzip_offset INTEGER,
  gzip_length INTEGER,
  gzip_hash   BLOB
) WITHOUT ROWID;
`;

/** The rows entry_types must hold, in id order (ids 1, 2, ...): every distinct type, sorted. */
export const ENTRY_TYPES_SOURCE_SQL = 'SELECT DISTINCT mime FROM entries WHERE mime IS NOT NULL ORDER BY mime';

/**
 * The rows entry_lookup must hold, derived from entries, objects, variants and
 * entry_types: the writer inserts exactly these, and `verify` compares the table with them.
 */
export const ENTRY_LOOKUP_SOURCE_SQL = `SELECT e.path, e.mtime, t.id, o.offset, o.length, o.hash,
    b.offset, b.length, b.hash, g.offset, g.length, g.hash
  FROM entries e LEFT JOIN entry_types t ON t.mime = e.mime LEFT JOIN objects o ON o.id = e.object_id
  LEFT JOIN variants bv ON bv.path = e.path AND bv.encoding = 'br' LEFT JOIN objects b ON b.id = bv.object_id
  LEFT JOIN variants gv ON gv.path = e.path AND gv.encoding = 'gzip' LEFT JOIN objects g ON g.id = gv.object_id`;

/** Name of the table that lets a reader look exact-path redirect rules up on demand (FORMAT.md section 1.2). */
export const REDIRECT_LOOKUP_TABLE = 'redirect_lookup';

/**
 * A strong entity tag (RFC 9110 section 8.8.3) from an object's content hash:
 * the first 16 bytes of its SHA-256, base64url. Identical bytes give the
 * identical tag on every build and every machine.
 */
export function etagFromHash(hash: Uint8Array): string {
  return `"${Buffer.from(hash.buffer, hash.byteOffset, 16).toString('base64url')}"`;
}
