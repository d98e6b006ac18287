import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Encoding } from '@webroot/format';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

const COMPRESSIBLE = new RegExp(
  '^(text/|application/(javascript|json|xml|wasm|manifest\\+json|ld\\+json|x-javascript|ecmascript|vnd\\.ms-fontobject|x-font-ttf|rtf|x-sh)$|' +
    'image/(svg\\+xml|x-icon|vnd\\.microsoft\\.icon|bmp)$|font/(ttf|otf)$)|\\+(xml|json)$',
);

/** Whether a type gains from precompression (already-compressed formats like PNG, WOFF2, ZIP do not). */
export function isCompressible(mimeType: string): boolean {
  return COMPRESSIBLE.test(mimeType.split(';')[0]!.trim());
}

/** A variant is kept only when it saves at least this fraction and this many bytes. */
export const MIN_SAVING_RATIO = 0.05;
export const MIN_SAVING_BYTES = 64;

export function worthKeeping(original: number, compressed: number): boolean {
  return original - compressed >= Math.max(MIN_SAVING_BYTES, original * MIN_SAVING_RATIO);
}

export interface CompressionSettings {
  brotliQuality: number;
  gzipLevel: number;
}

export const DEFAULT_COMPRESSION: CompressionSettings = { brotliQuality: 11, gzipLevel: 9 };

export function brotliOptions(settings: CompressionSettings, size: number, text: boolean): zlib.BrotliOptions {
  return {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: settings.brotliQuality,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
      [zlib.constants.BROTLI_PARAM_MODE]: text ? zlib.constants.BROTLI_MODE_TEXT : zlib.constants.BROTLI_MODE_GENERIC,
    },
  };
}

/**
 * Compresses one in-memory file with every encoding and keeps the worthwhile
 * results. zlib's async calls run on libuv's worker threads, so several files
 * in flight use every core.
 */
export async function compressBuffer(
  bytes: Buffer,
  mimeType: string,
  settings: CompressionSettings,
): Promise<{ encoding: Encoding; bytes: Buffer }[]> {
  const text = mimeType.startsWith('text/');
  const [br, gz] = await Promise.all([
    brotli(bytes, brotliOptions(settings, bytes.length, text)),
    gzip(bytes, { level: settings.gzipLevel }),
  ]);
  const out: { encoding: Encoding; bytes: Buffer }[] = [];
  if (worthKeeping(bytes.length, br.length)) out.push({ encoding: 'br', bytes: br });
  if (worthKeeping(bytes.length, gz.length)) out.push({ encoding: 'gzip', bytes: gz });
  return out;
}
