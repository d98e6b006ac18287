import fs from 'node:fs';
import Database from 'better-sqlite3';
import { APPLICATION_ID, FORMAT_VERSION, META_KEYS, SQLITE_HEADER, SQLITE_MAGIC, SUPPORTED_VERSIONS } from '../constants.js';
import { WebrootError } from '../errors.js';
import { IndexReader } from './index-reader.js';
import { loadRules, type LoadedRules } from './rules.js';
import { Webroot } from './webroot.js';
import type { WebrootMeta } from './types.js';

interface Header {
  pageSize: number;
  pageCount: number;
  userVersion: number;
  applicationId: number;
}

/** Reads and checks the SQLite header: magic, application id, version. */
export function parseHeader(buf: Buffer, file: string): Header {
  if (buf.length < SQLITE_HEADER.size || !buf.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw new WebrootError('WEBROOT_BAD_MAGIC', `${file}: not a webroot file (no SQLite header)`, file);
  }
  const rawPageSize = buf.readUInt16BE(SQLITE_HEADER.pageSizeOffset);
  const header: Header = {
    pageSize: rawPageSize === 1 ? 65536 : rawPageSize,
    pageCount: buf.readUInt32BE(SQLITE_HEADER.pageCountOffset),
    userVersion: buf.readUInt32BE(SQLITE_HEADER.userVersionOffset),
    applicationId: buf.readUInt32BE(SQLITE_HEADER.applicationIdOffset),
  };
  if (header.applicationId !== APPLICATION_ID) {
    throw new WebrootError(
      'WEBROOT_BAD_MAGIC',
      `${file}: not a webroot file (SQLite application_id is 0x${header.applicationId.toString(16)}, expected 0x${APPLICATION_ID.toString(16)})`,
      file,
    );
  }
  if (!SUPPORTED_VERSIONS.includes(header.userVersion)) {
    throw new WebrootError(
      'WEBROOT_UNSUPPORTED_VERSION',
      `${file}: webroot format version ${header.userVersion} is not supported (this reader knows versions ${SUPPORTED_VERSIONS.join(' and ')}, up to ${FORMAT_VERSION}); rebuild it with this mkroot or upgrade the server`,
      file,
    );
  }
  const validPageSize = header.pageSize >= 512 && header.pageSize <= 65536 && (header.pageSize & (header.pageSize - 1)) === 0;
  if (!validPageSize || header.pageCount === 0) {
    throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: SQLite header has an invalid page size or page count`, file);
  }
  return header;
}

function readFully(fd: number, buf: Buffer, position: number, file: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new WebrootError('WEBROOT_TRUNCATED', `${file}: file ended early while reading the index`, file);
    done += n;
  }
}

function openFd(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new WebrootError('WEBROOT_NOT_FOUND', `${file}: no such file (is the path or symlink target right?)`, file, { cause: err });
    }
    throw new WebrootError('WEBROOT_UNREADABLE', `${file}: cannot open (${code ?? String(err)})`, file, { cause: err });
  }
}

function corrupt(file: string, message: string): WebrootError {
  return new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: ${message}`, file);
}

function parseMeta(rows: { key: string; value: string }[], file: string): WebrootMeta {
  const map = new Map(rows.map((r) => [r.key, r.value]));
  for (const key of META_KEYS) {
    if (!map.has(key)) throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: meta key '${key}' is missing`, file);
  }
  const int = (key: string): number => {
    const v = map.get(key)!;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: meta '${key}' is not a non-negative integer: ${JSON.stringify(v)}`, file);
    }
    return n;
  };
  const meta: WebrootMeta = {
    formatVersion: int('format_version'),
    generator: map.get('generator')!,
    created: int('created'),
    entryCount: int('entry_count'),
    objectCount: int('object_count'),
    dataOffset: int('data_offset'),
    dataLength: int('data_length'),
    dataSha256: map.get('data_sha256')!,
  };
  if (!/^[0-9a-f]{64}$/.test(meta.dataSha256)) {
    throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: meta 'data_sha256' is not a SHA-256 hex digest`, file);
  }
  return meta;
}

/**
 * Indexes up to this many entries are checked whole on open; larger ones row by row as read. The whole
 * check grows with the entries (measured: ~9 ms warm, 18-55 ms in a fresh process, for 11,002), so the
 * bound keeps every open within a few milliseconds: at 50,000 a site of that size would have taken
 * longer to open than a site of a million (1-11 ms). See FORMAT.md.
 */
export const FULL_CHECK_ENTRIES = 5_000;
/**
 * Default bound of the entry cache (and of the object cache). A cached entry
 * costs about 1 KB in a server (entry, object, its cached header block): 16,384
 * hold a 15,000-file site whole (the 10,000-file rotation), and keep a worker
 * under a 30 s random rotation over a million files below 150 MB (with 32,768
 * it was ~170 MB: bench/README, large sites). A miss costs one SQLite lookup.
 */
export const DEFAULT_CACHE_ENTRIES = 16_384;

export interface OpenOptions {
  /** Entries (and objects) kept in memory at most; default DEFAULT_CACHE_ENTRIES. */
  cacheEntries?: number;
  /** Indexes of at most this many entries are checked whole on open; default FULL_CHECK_ENTRIES. */
  fullCheckEntries?: number;
}

/**
 * An SQLite connection to the index, on the very inode behind `fd`: through
 * /proc/self/fd (Linux), read-only, with the shared lock taken once and kept
 * (locking_mode EXCLUSIVE: no lock, unlock and journal probe per query; the
 * file is immutable, so nothing waits on that lock). Elsewhere, the index
 * bytes are read through `fd` into an in-memory database, as before.
 */
function connectIndex(fd: number, dbLength: number, file: string): Database.Database {
  const viaProc = `/proc/self/fd/${fd}`;
  try {
    if (fs.existsSync(viaProc)) {
      const db = new Database(viaProc, { readonly: true, fileMustExist: true });
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('cache_size = -4096'); // KiB: bounded, whatever the index size
      return db;
    }
    const image = Buffer.allocUnsafe(dbLength);
    readFully(fd, image, 0, file);
    return new Database(image, { readonly: true });
  } catch (err) {
    if (err instanceof WebrootError) throw err;
    if ((err as { code?: string }).code === 'SQLITE_CANTOPEN') {
      // Not the file's fault: the connection could not get a descriptor of its own.
      throw new WebrootError('WEBROOT_UNREADABLE', `${file}: cannot open its index (${(err as Error).message}); is the process out of file descriptors?`, file, { cause: err });
    }
    throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: the index is not a readable SQLite database (${(err as Error).message})`, file, { cause: err });
  }
}

/**
 * Opens a webroot file and validates it: header, version, sizes, meta, schema;
 * the whole index too when it is small (FULL_CHECK_ENTRIES), else each row as
 * it is read. The index is read through the same inode the bytes are served
 * from (see connectIndex), so both agree even if `file` is re-pointed while it
 * is opened. Opening costs the same for ten entries and for a million.
 * Byte hashes are checked by `verify()`, not here (opening must stay fast).
 */
export function openWebroot(file: string, options: OpenOptions = {}): Webroot {
  const fd = openFd(file);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new WebrootError('WEBROOT_UNREADABLE', `${file}: not a regular file`, file);
    const head = Buffer.alloc(Math.min(SQLITE_HEADER.size, stat.size));
    readFully(fd, head, 0, file);
    const header = parseHeader(head, file);
    const dbLength = header.pageSize * header.pageCount;
    if (stat.size < dbLength) {
      throw new WebrootError('WEBROOT_TRUNCATED', `${file}: truncated: ${stat.size} bytes, but its index alone is ${dbLength} bytes`, file);
    }
    const db = connectIndex(fd, dbLength, file);
    let meta: WebrootMeta;
    let index: IndexReader;
    let rules: LoadedRules;
    try {
      meta = parseMeta(db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[], file);
      if (meta.formatVersion !== header.userVersion) throw corrupt(file, `meta format_version ${meta.formatVersion} contradicts the header`);
      if (!(meta.dataOffset >= dbLength)) throw corrupt(file, `meta 'data_offset' lies inside the index (${meta.dataOffset} < ${dbLength})`);
      index = new IndexReader(db, file, meta.dataOffset, meta, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
      // Small indexes are checked whole (cheap); large ones row by row as they are read, and whole by verify().
      if (meta.entryCount <= (options.fullCheckEntries ?? FULL_CHECK_ENTRIES)) {
        const problems = index.checkWhole();
        if (problems.length > 0) throw corrupt(file, problems[0]!);
      }
      rules = loadRules(db, header.userVersion, file, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
      // One lookup (its result does not matter), so a garbled root page fails here and not on the first request.
      index.lookup('/');
    } catch (err) {
      db.close();
      if (err instanceof WebrootError) throw err;
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: the index cannot be read (${(err as Error).message})`, file, { cause: err });
    }
    const expected = meta.dataOffset + meta.dataLength;
    if (stat.size < expected) {
      db.close();
      throw new WebrootError('WEBROOT_TRUNCATED', `${file}: truncated: ${stat.size} bytes, expected ${expected} (data region at ${meta.dataOffset}, ${meta.dataLength} bytes)`, file);
    }
    if (stat.size > expected) {
      db.close();
      throw new WebrootError('WEBROOT_TRAILING_DATA', `${file}: ${stat.size - expected} unexpected bytes after the data region (expected ${expected} bytes in all)`, file);
    }
    return new Webroot(file, fd, meta.dataOffset, meta, index, db, {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
    }, rules);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
