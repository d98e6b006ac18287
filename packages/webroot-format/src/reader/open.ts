import fs from 'node:fs';
import Database from 'better-sqlite3';
import {
  APPLICATION_ID,
  ENCODINGS,
  FORMAT_VERSION,
  HASH_BYTES,
  SUPPORTED_VERSIONS,
  META_KEYS,
  SQLITE_HEADER,
  SQLITE_MAGIC,
  etagFromHash,
  type Encoding,
} from '../constants.js';
import { WebrootError } from '../errors.js';
import { loadRules, type LoadedRules } from './rules.js';
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
 * A stored object as loaded from the index. The hash comes as hex text and the
 * hash Buffer and the ETag are made on first use: a Buffer per object made by
 * better-sqlite3, and 10,000 base64 conversions, were a sizeable part of
 * opening a 10,000-file webroot, which must stay under 100 ms.
 */
class IndexedObject implements StoredObject {
  private hashBytes: Buffer | undefined;
  private tag: string | undefined;

  constructor(
    readonly offset: number,
    readonly length: number,
    private readonly hashHex: string,
  ) {}

  get hash(): Buffer {
    return (this.hashBytes ??= Buffer.from(this.hashHex, 'hex'));
  }

  get etag(): string {
    return (this.tag ??= etagFromHash(this.hash));
  }
}

/** Loads the whole index into maps, checking it against itself and the data region. */
function loadIndex(db: Database.Database, dataStart: number, file: string, version: number) {
  const corrupt = (msg: string) => new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: ${msg}`, file);
  const meta = parseMeta(db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[], file);
  if (meta.formatVersion !== version) throw corrupt(`meta format_version ${meta.formatVersion} contradicts the header`);

  // Whole-table checks in SQL (one pass each, no row objects): counts, hash sizes, bounds.
  const objectCount = (db.prepare('SELECT count(*) FROM objects').pluck().get() as number) ?? 0;
  if (objectCount !== meta.objectCount) throw corrupt(`meta says ${meta.objectCount} objects, the index has ${objectCount}`);
  const badHash = db.prepare('SELECT id FROM objects WHERE typeof(hash) != ? OR length(hash) != ? LIMIT 1').pluck().get('blob', HASH_BYTES);
  if (badHash !== undefined) throw corrupt(`object ${badHash} has a malformed hash`);
  const outside = db
    .prepare('SELECT id, offset, length FROM objects WHERE offset < 0 OR length < 0 OR offset + length > ? LIMIT 1')
    .raw()
    .get(meta.dataLength) as [number, number, number] | undefined;
  if (outside) {
    throw corrupt(`object ${outside[0]} (offset ${outside[1]}, length ${outside[2]}) lies outside the data region of ${meta.dataLength} bytes`);
  }

  // Objects are shared (deduplicated content): one StoredObject per id.
  const objects = new Map<number, StoredObject>();
  const objectOf = (id: number, offset: number, length: number, hashHex: string): StoredObject => {
    let o = objects.get(id);
    if (o === undefined) {
      o = new IndexedObject(dataStart + offset, length, hashHex);
      objects.set(id, o);
    }
    return o;
  };

  const variantsByPath = new Map<string, Variant[]>();
  const variantRows = db
    .prepare('SELECT v.path, v.encoding, o.id, o.offset, o.length, hex(o.hash) FROM variants v LEFT JOIN objects o ON o.id = v.object_id')
    .raw()
    .all() as [string, string, number | null, number, number, string][];
  for (const [path, encoding, id, offset, length, hash] of variantRows) {
    if (id === null || !ENCODINGS.includes(encoding as Encoding)) throw corrupt(`variant ${encoding} of ${path} is malformed`);
    const list = variantsByPath.get(path);
    const v: Variant = { encoding: encoding as Encoding, object: objectOf(id, offset, length, hash) };
    if (list) list.push(v);
    else variantsByPath.set(path, [v]);
  }

  const entries = new Map<string, Entry>();
  const entryRows = db
    .prepare('SELECT e.path, e.kind, e.mtime, e.mime, e.object_id, o.offset, o.length, hex(o.hash) FROM entries e LEFT JOIN objects o ON o.id = e.object_id')
    .raw()
    .all() as [string, string, number, string | null, number | null, number | null, number | null, string | null][];
  for (const [path, kind, mtime, mime, objectId, offset, length, hash] of entryRows) {
    if (path.charCodeAt(0) !== 0x2f) throw corrupt(`entry path ${JSON.stringify(path)} does not start with '/'`);
    if (kind === 'directory') {
      entries.set(path, { kind: 'directory', path, mtime });
    } else if (kind === 'file') {
      if (objectId === null || offset === null || mime === null) throw corrupt(`file entry ${path} has no object or no type`);
      const variants = variantsByPath.get(path) ?? [];
      if (variants.length > 1) variants.sort((a, b) => ENCODINGS.indexOf(a.encoding) - ENCODINGS.indexOf(b.encoding));
      const entry: FileEntry = { kind: 'file', path, mtime, mime, object: objectOf(objectId, offset, length!, hash!), variants };
      entries.set(path, entry);
    } else {
      throw corrupt(`entry ${path} has unknown kind ${JSON.stringify(kind)}`);
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
    let rules: LoadedRules;
    try {
      const offsetRow = db.prepare("SELECT value FROM meta WHERE key = 'data_offset'").pluck().get() as string | undefined;
      const dataStart = offsetRow !== undefined && /^\d+$/.test(offsetRow) ? Number(offsetRow) : -1;
      if (!(dataStart >= dbLength)) {
        throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: meta 'data_offset' is missing or lies inside the index (${offsetRow})`, file);
      }
      index = loadIndex(db, dataStart, file, header.userVersion);
      rules = loadRules(db, header.userVersion, file);
    } catch (err) {
      if (err instanceof WebrootError) throw err;
      throw new WebrootError('WEBROOT_CORRUPT_INDEX', `${file}: the index cannot be read (${(err as Error).message})`, file, { cause: err });
    } finally {
      db.close();
    }
    const expected = index.meta.dataOffset + index.meta.dataLength;
    if (stat.size < expected) {
      throw new WebrootError('WEBROOT_TRUNCATED', `${file}: truncated: ${stat.size} bytes, expected ${expected} (data region at ${index.meta.dataOffset}, ${index.meta.dataLength} bytes)`, file);
    }
    if (stat.size > expected) {
      throw new WebrootError('WEBROOT_TRAILING_DATA', `${file}: ${stat.size - expected} unexpected bytes after the data region (expected ${expected} bytes in all)`, file);
    }
    return new Webroot(file, fd, index.meta.dataOffset, index.meta, index.entries, {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
    }, rules.rules, rules.digest);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
