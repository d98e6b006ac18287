import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { fileTypeFromBuffer } from 'file-type';
import mime from 'mime-types';
import { MkrootError } from './errors.js';

/** How many leading bytes file-type needs to recognise every format it knows. */
export const SNIFF_BYTES = 4100;

const TEXT_LIKE = /^(text\/|application\/(javascript|json|xml|manifest\+json|ld\+json|x-sh|x-javascript|ecmascript)$)|\+(xml|json)$/;

/** Adds `; charset=utf-8` to text types (mkroot packs text as UTF-8 by policy). */
export function withCharset(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  if (type.includes('charset=')) return type;
  return TEXT_LIKE.test(bare) ? `${bare}; charset=utf-8` : bare;
}

/** Parses `--mime .ext=type` values into a map from lower-cased extension to type. */
export function parseMimeOverrides(values: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const v of values) {
    const m = /^(\.[^=\s/]+)=([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?:\s*;.*)?)$/i.exec(v.trim());
    if (!m) {
      throw new MkrootError('MKROOT_BAD_OPTION', `--mime ${JSON.stringify(v)}: expected .ext=type/subtype, for example --mime .webmanifest=application/manifest+json`);
    }
    map.set(m[1]!.toLowerCase(), m[2]!);
  }
  return map;
}

/** True when `bytes` look like text: valid UTF-8 without NUL. `truncated` allows a cut-off last character. */
export function looksLikeUtf8Text(bytes: Buffer, truncated: boolean): boolean {
  if (bytes.includes(0)) return false;
  if (isUtf8(bytes)) return true;
  if (!truncated) return false;
  for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
    if (isUtf8(bytes.subarray(0, bytes.length - cut))) return true;
  }
  return false;
}

/** Per extension: its type by override or table with the charset added, or null (sniff the bytes). */
const byExtensionMemo = new WeakMap<ReadonlyMap<string, string>, Map<string, string | null>>();

/**
 * The media type a file gets from its extension alone (an override, else the
 * extension table), or undefined when its bytes decide (detectMime). Memoized per
 * extension and override map: a million files share a handful of extensions, and
 * the table lookup and charset rule per file were a twentieth of packing them.
 */
export function mimeFromExtension(sitePath: string, overrides: ReadonlyMap<string, string>): string | undefined {
  const ext = path.posix.extname(sitePath).toLowerCase();
  if (!ext) return undefined;
  let memo = byExtensionMemo.get(overrides);
  if (memo === undefined) byExtensionMemo.set(overrides, (memo = new Map()));
  let type = memo.get(ext);
  if (type === undefined) {
    const override = overrides.get(ext);
    const byExt = override || mime.lookup(ext);
    type = byExt ? withCharset(byExt) : null;
    if (memo.size < 4096) memo.set(ext, type);
  }
  return type ?? undefined;
}

/**
 * The media type of a file: an override for its extension, else the extension
 * table, else magic bytes, else UTF-8 text, else application/octet-stream.
 * `head` is the whole file or, for a large one, its first bytes (`truncated`).
 */
export async function detectMime(
  sitePath: string,
  head: Buffer,
  truncated: boolean,
  overrides: ReadonlyMap<string, string>,
): Promise<string> {
  const known = mimeFromExtension(sitePath, overrides);
  if (known !== undefined) return known;
  if (head.length > 0) {
    const sniffed = await fileTypeFromBuffer(head.subarray(0, SNIFF_BYTES));
    if (sniffed) return withCharset(sniffed.mime);
    if (looksLikeUtf8Text(head, truncated)) return 'text/plain; charset=utf-8';
  }
  return 'application/octet-stream';
}
