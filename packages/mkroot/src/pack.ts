import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { openWebroot, type BuildOptions, type Encoding, type Webroot } from '@webroot/format';
import { WebrootWriter, type ObjectRef } from '@webroot/format/writer';
import {
  DEFAULT_COMPRESSION,
  brotliOptions,
  compressBuffer,
  isCompressible,
  worthKeeping,
  type CompressionSettings,
} from './compress.js';
import { MkrootError } from './errors.js';
import { detectMime } from './mime.js';
import { readSmallSourceFile, readSourceFile } from './read-file.js';
import { RULE_FILES, loadSiteRules } from './rules/site-rules.js';
import { GENERATOR } from './version.js';
import { walkSource, type FoundFile } from './walk.js';

/** Files up to this size are read whole into memory; larger ones are streamed. */
export const STREAM_THRESHOLD = 8 << 20;
const STREAM_CHUNK = 1 << 20;

export interface PackOptions {
  compress?: boolean;
  compression?: CompressionSettings;
  includeDotfiles?: boolean;
  skipEscapingLinks?: boolean;
  /** Extension (with dot, lower case) to media type. */
  mimeOverrides?: ReadonlyMap<string, string>;
  /** A previous webroot whose compressed variants are reused for unchanged content. */
  reuse?: string;
  /** Seconds since the epoch for the `created` meta; default SOURCE_DATE_EPOCH, else the newest mtime in the tree. */
  created?: number;
  /** Build options (`--clean-urls`, `--trailing-slash`); they win over `[build]` in SRC_DIR/webroot.toml. */
  build?: Partial<BuildOptions>;
  warn?: (message: string) => void;
  progress?: (p: PackProgress) => void;
}

export interface PackProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface PackSummary {
  file: string;
  files: number;
  directories: number;
  /** Sum of the sizes of all files. */
  bytesIn: number;
  /** Files whose bytes were already stored under another path. */
  deduplicated: number;
  /** Files that got at least one precompressed variant. */
  compressedFiles: number;
  /** Variants taken from the --reuse webroot instead of being compressed again. */
  reusedVariants: number;
  /** Identity bytes minus the best variant's bytes, summed over compressed files. */
  compressionSavings: number;
  /** Size of the webroot file. */
  size: number;
  seconds: number;
}

interface Variants { list: { encoding: Encoding; object: ObjectRef }[] }
const NO_VARIANTS: Variants = Object.freeze({ list: Object.freeze([]) as unknown as Variants['list'] });

/** Variants reusable from an older webroot, by identity hash (hex). */
function reusableVariants(old: Webroot): Map<string, { mime: string; variants: { encoding: Encoding; bytes: () => Buffer }[] }> {
  const map = new Map<string, { mime: string; variants: { encoding: Encoding; bytes: () => Buffer }[] }>();
  for (const e of old.all()) {
    if (e.kind !== 'file' || e.variants.length === 0) continue;
    map.set(e.object.hash.toString('hex'), {
      mime: e.mime,
      variants: e.variants.map((v) => ({ encoding: v.encoding, bytes: () => old.readObjectSync(v.object) })),
    });
  }
  return map;
}

/**
 * A generous estimate of the index's size, so the data can be written in
 * place behind it (measured: ~150 bytes per entry for 10,000 files; this
 * allows about twice that). An underestimate only costs one copy of the data.
 */
export function estimateIndexBytes(found: ReturnType<typeof walkSource>, compress: boolean): number {
  let bytes = 64 * 1024;
  for (const f of found) bytes += 3 * Buffer.byteLength(f.sitePath) + (f.kind === 'file' ? (compress ? 420 : 200) : 60);
  return bytes;
}

/** Room for the rule tables: about three times their text (redirect_lookup's row included). */
function rulesBytes(rules: ReturnType<typeof loadSiteRules>): number {
  let bytes = 0;
  for (const r of rules.redirects) bytes += 3 * (r.source.length + r.from.length + (r.host?.length ?? 0) + 50);
  for (const h of rules.headers) for (const op of h.ops) bytes += 3 * (op.name.length + (op.op === 'set' ? op.value.length : 0) + 40);
  return bytes;
}

function createdDefault(found: ReturnType<typeof walkSource>): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  // A loop, not Math.max(...list): spreading a per-file array into a call overflows the stack past ~120,000 files.
  let newest = 0;
  for (const f of found) if (f.mtimeMs > newest) newest = f.mtimeMs;
  return Math.floor(newest / 1000);
}

function openWriter(dest: string): WebrootWriter {
  try {
    return new WebrootWriter(dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MkrootError(
      'MKROOT_DESTINATION_UNWRITABLE',
      `${dest}: cannot create the output file there (${code}); check that ${path.dirname(dest)} exists and is writable`,
      { cause: err },
    );
  }
}

/**
 * Checks OUT before anything is packed: a directory there would only fail at the
 * final rename, after all the work (EISDIR). Returns OUT's real path (its
 * directory resolved), which the walk leaves out when OUT lies inside SRC_DIR.
 */
function checkOutputPath(dest: string): string {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dest);
  } catch {
    // absent (the usual case), or unreachable: the writer reports what is wrong with its directory
  }
  if (stat?.isDirectory()) {
    throw new MkrootError(
      'MKROOT_OUTPUT_IS_DIRECTORY',
      `${dest}: is a directory; give the webroot file to write, e.g. ${path.join(dest, 'site.webroot')}`,
    );
  }
  try {
    return path.join(fs.realpathSync(path.dirname(dest)), path.basename(dest));
  } catch {
    return path.resolve(dest);
  }
}

/**
 * Packs `srcDir` into the webroot file `dest`. Deterministic: the same tree
 * (same bytes, names, mtimes, options) gives a byte-identical file. On error
 * nothing is left at `dest` or next to it, and an existing `dest` is untouched.
 */
export async function packDirectory(srcDir: string, dest: string, options: PackOptions = {}): Promise<PackSummary> {
  const started = process.hrtime.bigint();
  const warn = options.warn ?? (() => {});
  const compress = options.compress ?? true;
  const settings = options.compression ?? DEFAULT_COMPRESSION;
  const overrides = options.mimeOverrides ?? new Map<string, string>();
  const outputReal = checkOutputPath(dest);
  // _redirects, _headers and webroot.toml at the root configure the site: compiled into it, never served.
  const found = walkSource(srcDir, {
    includeDotfiles: options.includeDotfiles ?? false,
    skipEscapingLinks: options.skipEscapingLinks ?? false,
    warn,
    outputReal,
  }).filter((f) => !(f.kind === 'file' && (RULE_FILES as readonly string[]).includes(f.sitePath)));
  // Parsed before the output is created: a bad rule leaves no file behind.
  const rules = loadSiteRules(srcDir, options.build);
  const files = found.filter((f): f is FoundFile => f.kind === 'file');
  const progress: PackProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: files.reduce((s, f) => s + f.size, 0) };

  const writer = openWriter(dest);
  writer.reserveIndex(estimateIndexBytes(found, compress) + rulesBytes(rules));
  writer.setRules(rules);
  const summary = { deduplicated: 0, compressedFiles: 0, reusedVariants: 0, compressionSavings: 0 };
  let old: Webroot | undefined;
  try {
    old = options.reuse ? openWebroot(options.reuse) : undefined;
    const reusable: ReturnType<typeof reusableVariants> = old ? reusableVariants(old) : new Map();
    const variantsByHash = new Map<string, Variants>();
    // Compression runs concurrently, but results are stored strictly in submission
    // order, so the output does not depend on timing.
    const window = Math.max(2, os.availableParallelism() * 2);
    const pending: { size: number; variants: Variants; work: Promise<{ encoding: Encoding; bytes: Buffer }[]> }[] = [];
    const storeOldest = async (): Promise<void> => {
      const job = pending.shift()!;
      for (const v of await job.work) job.variants.list.push({ encoding: v.encoding, object: writer.addObject(v.bytes) });
      noteVariants(job.size, job.variants);
    };
    const noteVariants = (size: number, variants: Variants): void => {
      if (variants.list.length === 0) return;
      summary.compressedFiles++;
      let smallest = size;
      for (const v of variants.list) smallest = Math.min(smallest, v.object.length);
      summary.compressionSavings += size - smallest;
    };

    for (const file of files) {
      let object: ObjectRef;
      let mime: string;
      let mtimeMs: number;
      let bytes: Buffer | undefined;
      if (file.size <= STREAM_THRESHOLD) {
        ({ bytes, mtimeMs } = readSmallSourceFile(file.absPath, file.size));
        mime = await detectMime(file.sitePath, bytes, false, overrides);
        object = writer.addObject(bytes);
      } else {
        const sink = writer.beginObject();
        let head: Buffer = Buffer.alloc(0);
        try {
          ({ mtimeMs } = readSourceFile(file.absPath, STREAM_CHUNK, (chunk, first) => {
            if (first) head = Buffer.from(chunk.subarray(0, 64 * 1024));
            sink.write(chunk);
          }));
        } catch (err) {
          sink.abort();
          throw err;
        }
        object = sink.commit();
        mime = await detectMime(file.sitePath, head, true, overrides);
      }
      if (object.deduplicated) summary.deduplicated++;
      progress.filesDone++;
      progress.bytesDone += file.size;
      options.progress?.(progress);

      const key = object.hash.toString('hex');
      let variants = variantsByHash.get(key);
      if (!variants) {
        // Nothing is ever added to NO_VARIANTS: one shared empty list instead of one per file.
        variants = compress && isCompressible(mime) ? { list: [] } : NO_VARIANTS;
        if (variants !== NO_VARIANTS) {
          variantsByHash.set(key, variants);
          const previous = reusable.get(key);
          const reuse = previous !== undefined && previous.mime === mime ? previous : undefined;
          if (reuse || bytes) {
            // Reused variants take the same queue as fresh ones, so the layout (and the file) is the same either way.
            const work = reuse
              ? Promise.resolve(reuse.variants.map((v) => ({ encoding: v.encoding, bytes: v.bytes() })))
              : compressBuffer(bytes!, mime, settings);
            if (reuse) summary.reusedVariants += reuse.variants.length;
            pending.push({ size: file.size, variants, work });
            if (pending.length >= window) await storeOldest();
          } else {
            while (pending.length > 0) await storeOldest();
            await compressStreamed(writer, file.absPath, file.size, mime, settings, variants);
            noteVariants(file.size, variants);
          }
        }
      }
      // (an earlier file with the same bytes already owns `variants`: they serve this one too.)
      // Added now, not kept in a list of per-file records until the end: `variants.list` is
      // the array storeOldest fills in later, and the writer reads it only in finish().
      writer.addFile({ path: file.sitePath, mtime: Math.floor(mtimeMs / 1000), mime, object, variants: variants.list });
    }
    while (pending.length > 0) await storeOldest();

    for (const entry of found) {
      if (entry.kind === 'directory') writer.addDirectory(entry.sitePath, Math.floor(entry.mtimeMs / 1000));
    }
    const result = writer.finish({ generator: GENERATOR, created: options.created ?? createdDefault(found) });
    return {
      file: dest,
      files: files.length,
      directories: found.length - files.length,
      bytesIn: progress.bytesTotal,
      ...summary,
      size: result.size,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    old?.close();
  }
}

/** Compresses a large file from disk straight into the webroot, one encoding after the other. */
async function compressStreamed(
  writer: WebrootWriter,
  abs: string,
  size: number,
  mime: string,
  settings: CompressionSettings,
  variants: Variants,
): Promise<void> {
  const encoders: [Encoding, () => zlib.BrotliCompress | zlib.Gzip][] = [
    ['br', () => zlib.createBrotliCompress(brotliOptions(settings, size, mime.startsWith('text/')))],
    ['gzip', () => zlib.createGzip({ level: settings.gzipLevel })],
  ];
  for (const [encoding, make] of encoders) {
    const sink = writer.beginObject();
    let length = 0;
    try {
      await pipeline(
        fs.createReadStream(abs, { highWaterMark: STREAM_CHUNK }),
        make(),
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            sink.write(chunk);
            length += chunk.length;
            cb();
          },
        }),
      );
    } catch (err) {
      sink.abort();
      throw new MkrootError('MKROOT_UNREADABLE_FILE', `${abs}: cannot read for compression (${(err as Error).message})`, { cause: err });
    }
    if (worthKeeping(size, length)) variants.list.push({ encoding, object: sink.commit() });
    else sink.abort();
  }
}
