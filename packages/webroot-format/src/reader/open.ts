import fs from 'node:fs';
import Database from 'better-sqlite3';
import {
  APPLICATION_ID,
  ENCODINGS,
  FORMAT_VERSION,
  HASH_BYTES,
  META_KEYS,
  SQLITE_HEADER,
  SQLITE_MAGIC,
  etagFromHash,
  type Encoding,
} from '../constants.js';
import { WebrootError } from '../errors.js';
import { Webroot } from './webroot.js';
import type { Entry, FileEntry, StoredObject, Variant, WebrootMeta } from './types.js';

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
  if (header.userVersion !== FORMAT_VERSION) {
    throw new WebrootError(
      'WEBROOT_UNSUPPORTED_VERSION',
      `${file}: webroot format version ${header.userVersion} is not supported (this reader knows version ${FORMAT_VERSION}); rebuild it with this mkroot or upgrade the server`,
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
    dataLength: int('data_length'),
    dataSha256: map.get('data_sha256')!,
  };
  if (!/^[0-9a-f]{64}$/.test(meta.dataSha256)) {
    throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: meta 'data_sha256' is not a SHA-256 hex digest`, file);
  }
  return meta;
}

interface ObjectRow { id: number; hash: Buffer; offset: number; length: number }
interface EntryRow { path: string; kind: string; mtime: number; mime: string | null; object_id: number | null }
interface VariantRow { path: string; encoding: string; object_id: number }

/** Loads the whole index into maps, checking it against itself and the data region. */
function loadIndex(db: Database.Database, dataStart: number, file: string) {
  const corrupt = (msg: string) => new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: ${msg}`, file);
  const meta = parseMeta(db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[], file);
  if (meta.formatVersion !== FORMAT_VERSION) throw corrupt(`meta format_version ${meta.formatVersion} contradicts the header`);

  const objects = new Map<number, StoredObject>();
  for (const row of db.prepare('SELECT id, hash, offset, length FROM objects').all() as ObjectRow[]) {
    if (!Buffer.isBuffer(row.hash) || row.hash.length !== HASH_BYTES) throw corrupt(`object ${row.id} has a malformed hash`);
    if (!(row.offset >= 0 && row.length >= 0 && row.offset + row.length <= meta.dataLength)) {
      throw corrupt(`object ${row.id} (offset ${row.offset}, length ${row.length}) lies outside the data region of ${meta.dataLength} bytes`);
    }
    objects.set(row.id, { offset: dataStart + row.offset, length: row.length, hash: row.hash, etag: etagFromHash(row.hash) });
  }
  if (objects.size !== meta.objectCount) throw corrupt(`meta says ${meta.objectCount} objects, the index has ${objects.size}`);

  const variantsByPath = new Map<string, Variant[]>();
  for (const row of db.prepare('SELECT path, encoding, object_id FROM variants').all() as VariantRow[]) {
    const object = objects.get(row.object_id);
    if (!object || !ENCODINGS.includes(row.encoding as Encoding)) throw corrupt(`variant ${row.encoding} of ${row.path} is malformed`);
    const list = variantsByPath.get(row.path) ?? [];
    list.push({ encoding: row.encoding as Encoding, object });
    variantsByPath.set(row.path, list);
  }

  const entries = new Map<string, Entry>();
  for (const row of db.prepare('SELECT path, kind, mtime, mime, object_id FROM entries').all() as EntryRow[]) {
    if (!row.path.startsWith('/')) throw corrupt(`entry path ${JSON.stringify(row.path)} does not start with '/'`);
    if (row.kind === 'directory') {
      entries.set(row.path, { kind: 'directory', path: row.path, mtime: row.mtime });
    } else if (row.kind === 'file') {
      const object = row.object_id === null ? undefined : objects.get(row.object_id);
      if (!object || row.mime === null) throw corrupt(`file entry ${row.path} has no object or no type`);
      const variants = (variantsByPath.get(row.path) ?? []).sort(
        (a, b) => ENCODINGS.indexOf(a.encoding) - ENCODINGS.indexOf(b.encoding),
      );
      const entry: FileEntry = { kind: 'file', path: row.path, mtime: row.mtime, mime: row.mime, object, variants };
      entries.set(row.path, entry);
    } else {
      throw corrupt(`entry ${row.path} has unknown kind ${JSON.stringify(row.kind)}`);
    }
  }
  if (entries.size !== meta.entryCount) throw corrupt(`meta says ${meta.entryCount} entries, the index has ${entries.size}`);
  for (const path of variantsByPath.keys()) {
    if (entries.get(path)?.kind !== 'file') throw corrupt(`variant for ${path}, which is not a file entry`);
  }
  return { meta, entries };
}

/**
 * Opens a webroot file and validates it: header, version, sizes, index. The
 * index is read through the same file descriptor the bytes are served from, so
 * both come from one inode even if `file` is re-pointed while it is opened.
 * Byte hashes are checked by `verify()`, not here (opening must stay fast).
 */
export function openWebroot(file: string): Webroot {
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
    const image = Buffer.allocUnsafe(dbLength);
    readFully(fd, image, 0, file);
    let db: Database.Database;
    try {
      db = new Database(image, { readonly: true });
    } catch (err) {
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: the index is not a readable SQLite database (${(err as Error).message})`, file, { cause: err });
    }
    let index: ReturnType<typeof loadIndex>;
    try {
      index = loadIndex(db, dbLength, file);
    } catch (err) {
      if (err instanceof WebrootError) throw err;
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: the index cannot be read (${(err as Error).message})`, file, { cause: err });
    } finally {
      db.close();
    }
    const expected = dbLength + index.meta.dataLength;
    if (stat.size < expected) {
      throw new WebrootError('WEBROOT_TRUNCATED', `${file}: truncated: ${stat.size} bytes, expected ${expected} (index ${dbLength} + data ${index.meta.dataLength})`, file);
    }
    if (stat.size > expected) {
      throw new WebrootError('WEBROOT_TRAILING_DATA', `${file}: ${stat.size - expected} unexpected bytes after the data region (expected ${expected} bytes in all)`, file);
    }
    return new Webroot(file, fd, dbLength, index.meta, index.entries, {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
    });
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
