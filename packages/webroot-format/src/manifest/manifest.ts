import crypto from 'node:crypto';
import { WebrootError } from '../errors.js';

/**
 * A release manifest: which webroot file a host should serve, signed with
 * Ed25519. Specified byte by byte in MANIFEST.md; `canonicalBytes` is the one
 * place the signed serialisation is made, for signing and for verifying.
 */
export const MANIFEST_FORMAT = 'webroot-manifest/1';

export interface StagedRelease {
  digest: string;
  size: number;
  url: string;
}

export interface ManifestFields {
  host: string;
  /** sha256 of the whole webroot file, 64 lower-case hex digits; also its name in the channel. */
  digest: string;
  size: number;
  /** Where the file is, relative to the manifest's own URL (RFC 3986 section 5) or absolute. */
  url: string;
  /** When this manifest was signed: ISO 8601 UTC with milliseconds. Strictly increasing per host. */
  created: string;
  /** The digest this manifest replaces, or null for the first one. */
  previous: string | null;
  /** Set by `mkroot publish --rollback`: the node may go back to a release it served before. */
  rollback: boolean;
  /** A release uploaded by `--stage`: nodes fetch it for its preview host, but do not serve it. */
  staged: StagedRelease | null;
}

export interface SignedManifest extends ManifestFields {
  /** Ed25519 signature of canonicalBytes(fields), base64. */
  signature: string;
}

const DIGEST = /^[0-9a-f]{64}$/;
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// Printable ASCII without space: a URL reference as RFC 3986 allows it, and nothing that could break a line.
const URL_REF = /^[\x21-\x7e]{1,2048}$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

/** A host name as a vhost entry and a manifest name it: lower-case DNS labels. */
export function isHostName(value: unknown): value is string {
  return typeof value === 'string' && HOST.test(value);
}

/** The signed bytes: one `name:value` line per field, in this order, UTF-8, each ending in LF (MANIFEST.md). */
export function canonicalBytes(m: ManifestFields): Buffer {
  const lines = [
    MANIFEST_FORMAT,
    `host:${m.host}`,
    `digest:${m.digest}`,
    `size:${m.size}`,
    `url:${m.url}`,
    `created:${m.created}`,
    `previous:${m.previous ?? ''}`,
    `rollback:${m.rollback ? 'true' : 'false'}`,
    `staged-digest:${m.staged?.digest ?? ''}`,
    `staged-size:${m.staged ? m.staged.size : ''}`,
    `staged-url:${m.staged?.url ?? ''}`,
  ];
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

function bad(source: string, what: string): WebrootError {
  return new WebrootError('WEBROOT_BAD_MANIFEST', `${source}: not a valid release manifest: ${what}; publish it again with mkroot publish`, source);
}

function checkRelease(source: string, prefix: string, o: Record<string, unknown>): void {
  if (!isDigest(o.digest)) throw bad(source, `${prefix}digest must be 64 lower-case hex digits`);
  if (!Number.isSafeInteger(o.size) || (o.size as number) <= 0) throw bad(source, `${prefix}size must be a positive whole number`);
  if (typeof o.url !== 'string' || !URL_REF.test(o.url)) throw bad(source, `${prefix}url must be a URL without spaces or control characters`);
}

/** Checks every field's type and shape (not the signature): the fields as given, or a WEBROOT_BAD_MANIFEST error naming `source`. */
export function checkManifestFields(value: unknown, source: string): SignedManifest {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad(source, 'expected a JSON object');
  const o = value as Record<string, unknown>;
  if (o.format !== MANIFEST_FORMAT) throw bad(source, `format must be "${MANIFEST_FORMAT}"`);
  if (!isHostName(o.host)) throw bad(source, 'host must be a lower-case host name');
  checkRelease(source, '', o);
  if (typeof o.created !== 'string' || !ISO_UTC.test(o.created) || Number.isNaN(Date.parse(o.created))) {
    throw bad(source, 'created must be a UTC time like 2026-01-31T12:00:00.000Z');
  }
  if (o.previous !== null && !isDigest(o.previous)) throw bad(source, 'previous must be a digest or null');
  if (typeof o.rollback !== 'boolean') throw bad(source, 'rollback must be true or false');
  if (o.staged !== null) {
    if (!o.staged || typeof o.staged !== 'object') throw bad(source, 'staged must be an object or null');
    checkRelease(source, 'staged.', o.staged as Record<string, unknown>);
  }
  if (typeof o.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.signature)) throw bad(source, 'signature must be 64 bytes in base64');
  const s = o.staged as StagedRelease | null;
  return {
    host: o.host,
    digest: o.digest as string,
    size: o.size as number,
    url: o.url as string,
    created: o.created,
    previous: o.previous as string | null,
    rollback: o.rollback,
    staged: s ? { digest: s.digest, size: s.size, url: s.url } : null,
    signature: o.signature,
  };
}

/** Parses manifest text (JSON); throws WEBROOT_BAD_MANIFEST naming `source` and the first problem. */
export function parseManifest(text: string, source: string): SignedManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(source, `not JSON (${(err as Error).message})`);
  }
  return checkManifestFields(value, source);
}

export function signManifest(fields: ManifestFields, privateKey: crypto.KeyObject): SignedManifest {
  checkManifestFields({ format: MANIFEST_FORMAT, ...fields, signature: 'A'.repeat(86) + '==' }, 'the manifest to sign');
  const signature = crypto.sign(null, canonicalBytes(fields), privateKey).toString('base64');
  return { ...fields, signature };
}

/** True when the signature is valid for these fields under `publicKey`. */
export function verifyManifest(m: SignedManifest, publicKey: crypto.KeyObject): boolean {
  try {
    return crypto.verify(null, canonicalBytes(m), publicKey, Buffer.from(m.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The JSON file written to the channel: fields in canonical order, format first, signature last. */
export function serializeManifest(m: SignedManifest): string {
  const { host, digest, size, url, created, previous, rollback, staged, signature } = m;
  return `${JSON.stringify({ format: MANIFEST_FORMAT, host, digest, size, url, created, previous, rollback, staged, signature }, null, 2)}\n`;
}
