/**
 * Typed errors of the webroot format. Each code is stable and documented in
 * FORMAT.md ("Errors"); a test fails when one is not.
 */
export const WEBROOT_ERROR_CODES = {
  WEBROOT_NOT_FOUND: 'the file does not exist',
  WEBROOT_UNREADABLE: 'the file exists but cannot be opened or read (permissions, a directory, I/O error)',
  WEBROOT_BAD_MAGIC: 'the file is not a webroot: no SQLite header, or the wrong application id',
  WEBROOT_UNSUPPORTED_VERSION: 'the file is a webroot of a format version this reader does not know',
  WEBROOT_TRUNCATED: 'the file is shorter than its header and index say it is',
  WEBROOT_TRAILING_DATA: 'the file is longer than its header and index say it is',
  WEBROOT_CORRUPT_INDEX: 'the index cannot be read, or it contradicts itself (missing meta, an object outside the data region)',
  WEBROOT_CORRUPT_DATA: 'verify found bytes whose hash does not match the index',
  WEBROOT_CLOSED: 'a read was attempted on a webroot that has been closed',
  WEBROOT_BAD_MANIFEST: 'a release manifest is not JSON, or a field is missing or malformed (MANIFEST.md)',
  WEBROOT_BAD_KEY: 'a manifest signing or verifying key cannot be read, or is not an Ed25519 key of the right kind',
} as const;

export type WebrootErrorCode = keyof typeof WEBROOT_ERROR_CODES;

export class WebrootError extends Error {
  override readonly name = 'WebrootError';
  constructor(
    readonly code: WebrootErrorCode,
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isWebrootError(err: unknown): err is WebrootError {
  return err instanceof WebrootError;
}
