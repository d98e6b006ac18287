import type { Encoding } from '../constants.js';

/** One stored byte range: a file's bytes or one precompressed variant's. */
export interface StoredObject {
  /** Absolute offset of the first byte in the webroot file. */
  readonly offset: number;
  readonly length: number;
  /** SHA-256 of the bytes. */
  readonly hash: Buffer;
  /** Strong entity tag derived from `hash`. */
  readonly etag: string;
}

export interface Variant {
  readonly encoding: Encoding;
  readonly object: StoredObject;
}

export interface FileEntry {
  readonly kind: 'file';
  /** Site path: starts with '/', segments separated by '/', no trailing slash. */
  readonly path: string;
  /** Modification time in whole seconds since the epoch (HTTP dates have one-second resolution). */
  readonly mtime: number;
  /** Media type, with `; charset=utf-8` for text. */
  readonly mime: string;
  readonly object: StoredObject;
  /** Precompressed variants, in the order of ENCODINGS. */
  readonly variants: readonly Variant[];
}

export interface DirectoryEntry {
  readonly kind: 'directory';
  /** '/' for the root, otherwise like a file's path. */
  readonly path: string;
  readonly mtime: number;
}

export type Entry = FileEntry | DirectoryEntry;

export interface WebrootMeta {
  readonly formatVersion: number;
  readonly generator: string;
  /** Seconds since the epoch. */
  readonly created: number;
  readonly entryCount: number;
  readonly objectCount: number;
  /** Where the data region starts: at or after the end of the SQLite image. */
  readonly dataOffset: number;
  readonly dataLength: number;
  readonly dataSha256: string;
}

/** What identifies the file on disk, for noticing that a path now names another file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly objectsChecked: number;
  readonly bytesChecked: number;
  readonly problems: readonly string[];
}
