/** Messages between ReadAhead (read-ahead.ts) and its thread (read-ahead-worker.ts). */

export const READ_STATUS = {
  /** Read whole and hashed: its bytes are in `data`. */
  read: 0,
  /** Larger than the limit: not read (the packer streams it itself). */
  large: 1,
  /** open() or read() failed: `errors[i]` is the errno code. */
  unreadable: 2,
  /** Size or mtime changed while it was read. */
  changed: 3,
} as const;

export interface BatchRequest {
  batch: number;
  paths: string[];
  /** Files larger than this many bytes are left to the packer. */
  limit: number;
}

export interface BatchResult {
  batch: number;
  /** The bytes of every file read, back to back. */
  data: ArrayBuffer;
  /** Float64 × 5 per file: status, offset in data, length, size, mtimeMs. */
  meta: ArrayBuffer;
  /** 32 bytes per file read: its SHA-256. */
  hashes: ArrayBuffer;
  errors: (string | null)[];
}
