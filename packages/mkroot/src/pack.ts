import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { openWebroot, type BuildOptions, type Encoding, type Webroot } from '@webroot/format';
import { WebrootWriter, type ObjectRef, type ObjectSink } from '@webroot/format/writer';
import {
  DEFAULT_COMPRESSION,
  brotliOptions,
  compressBuffer,
  isCompressible,
  worthKeeping,
  type CompressionSettings,
} from './compress.js';
import { MkrootError } from './errors.js';
import { detectMime, mimeFromExtension } from './mime.js';
import { ReadAhead, type Ticket } from './read-ahead.js';
import { readSource, type SourceRead } from './read-file.js';
import { RULE_FILES, loadSiteRules } from './rules/site-rules.js';
import { GENERATOR } from './version.js';
import { listEntries, walkEntries, type Found, type Listed } from './walk.js';

/** Files up to this size are read whole into memory; larger ones are streamed. */
export const STREAM_THRESHOLD = 8 << 20;
/**
 * Trees of at least this many files are read on a second thread (ReadAhead), up to
 * READ_AHEAD_WINDOW entries ahead, files of at most READ_AHEAD_LIMIT bytes (so at most
 * 64 MiB in flight); a smaller tree is not worth the thread's start-up.
 */
const READ_AHEAD_MIN_FILES = 1000;
const READ_AHEAD_WINDOW = 1024;
const READ_AHEAD_LIMIT = 64 * 1024;
const STREAM_CHUNK = 1 << 20;

/**
 * Reader threads: one per core, at most 4 (WEBROOT_MKROOT_READERS overrides, for
 * measuring). On 2 cores, 2 readers kept the packing thread busy where one could not
 * (bench/README, large sites: open, read and close cost more than storing a file).
 */
function readAheadThreads(): number {
  const env = Number(process.env.WEBROOT_MKROOT_READERS);
  if (Number.isInteger(env) && env >= 1 && env <= 16) return env;
  return Math.min(4, Math.max(1, os.availableParallelism()));
}

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
  /** Write the index's entry lookup table (FORMAT.md section 1.3, one leaf read per lookup); default true. false: the bytes earlier mkroots wrote. */
  entryLookup?: boolean;
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

type StoredVariants = { encoding: Encoding; object: ObjectRef }[];
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
 * A generous estimate of the index's room taken by one entry, so the data can
 * be written in place behind it (measured: ~150 bytes per entry for 10,000
 * files; this allows about twice that). An underestimate only costs one copy of
 * the data. The sum starts at INDEX_BYTES_BASE.
 */
export function estimateIndexBytes(entry: Found | Listed, compress: boolean): number {
  return 3 * Buffer.byteLength(entry.sitePath) + (entry.kind === 'file' ? (compress ? 420 : 200) : 60);
}
const INDEX_BYTES_BASE = 64 * 1024;

/** Room for the rule tables: about three times their text (redirect_lookup's row included). */
function rulesBytes(rules: ReturnType<typeof loadSiteRules>): number {
  let bytes = 0;
  for (const r of rules.redirects) bytes += 3 * (r.source.length + r.from.length + (r.host?.length ?? 0) + 50);
  for (const h of rules.headers) for (const op of h.ops) bytes += 3 * (op.name.length + (op.op === 'set' ? op.value.length : 0) + 40);
  return bytes;
}

/** What the first pass over the tree learns: totals only, nothing per file. */
interface Survey {
  files: number;
  /** Sum of the file sizes, when the pass stat()ed the files (only for progress reports). */
  bytes: number;
  indexBytes: number;
}

/** Counts a pass over the tree; the index estimate needs only paths and kinds, so files need no stat(). */
function surveySource(entries: Iterable<Found | Listed>, compress: boolean): Survey {
  const s: Survey = { files: 0, bytes: 0, indexBytes: INDEX_BYTES_BASE };
  for (const e of entries) {
    if (e.kind === 'file') {
      s.files++;
      if ('size' in e) s.bytes += e.size;
    }
    s.indexBytes += estimateIndexBytes(e, compress);
  }
  return s;
}

/** The default `created`: SOURCE_DATE_EPOCH, else the newest mtime (in ms) met while packing. */
function createdDefault(newestMtimeMs: number): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  return Math.floor(newestMtimeMs / 1000);
}

function openWriter(dest: string, entryLookup: boolean): WebrootWriter {
  try {
    return new WebrootWriter(dest, { entryLookup });
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
  // The tree is walked twice, so that no list of a million files is held: first for the totals
  // (and every walk error, before the output exists), then to pack, entry by entry. The first
  // pass stat()s the files only when progress is reported (its byte total); the second never:
  // each file's size and mtime come from its open descriptor.
  const walkOptions = (report: boolean) => ({
    includeDotfiles: options.includeDotfiles ?? false,
    skipEscapingLinks: options.skipEscapingLinks ?? false,
    warn: report ? warn : () => {},
    outputReal,
  });
  const content = (f: Found | Listed) => !(f.kind === 'file' && (RULE_FILES as readonly string[]).includes(f.sitePath));
  const survey = surveySource(
    filterEntries(options.progress ? walkEntries(srcDir, walkOptions(true)) : listEntries(srcDir, walkOptions(true)), content),
    compress,
  );
  // Parsed before the output is created: a bad rule leaves no file behind.
  const rules = loadSiteRules(srcDir, options.build);
  const progress: PackProgress = { filesDone: 0, filesTotal: survey.files, bytesDone: 0, bytesTotal: survey.bytes };

  const writer = openWriter(dest, options.entryLookup ?? true);
  const summary = { deduplicated: 0, compressedFiles: 0, reusedVariants: 0, compressionSavings: 0 };
  let old: Webroot | undefined;
  let files = 0;
  let directories = 0;
  let newestMtimeMs = 0;
  let ahead: ReadAhead | undefined;
  try {
    writer.reserveIndex(survey.indexBytes + rulesBytes(rules));
    writer.setRules(rules);
    old = options.reuse ? openWebroot(options.reuse) : undefined;
    const reusable: ReturnType<typeof reusableVariants> = old ? reusableVariants(old) : new Map();
    // Compression runs concurrently, but results are stored strictly in submission
    // order, so the output does not depend on timing. Variants belong to the identity
    // object (writer.shareVariants): every file with those bytes added from then on gets them.
    const window = Math.max(2, os.availableParallelism() * 2);
    const pending: { size: number; identity: ObjectRef; work: Promise<{ encoding: Encoding; bytes: Buffer }[]> }[] = [];
    const storeOldest = async (): Promise<void> => {
      const job = pending.shift()!;
      const stored: StoredVariants = [];
      for (const v of await job.work) {
        const object = writer.addObject(v.bytes);
        writer.addSharedVariant(job.identity, v.encoding, object);
        stored.push({ encoding: v.encoding, object });
      }
      noteVariants(job.size, stored);
    };
    const noteVariants = (size: number, variants: StoredVariants): void => {
      if (variants.length === 0) return;
      summary.compressedFiles++;
      let smallest = size;
      for (const v of variants) smallest = Math.min(smallest, v.object.length);
      summary.compressionSavings += size - smallest;
    };

    if (survey.files >= READ_AHEAD_MIN_FILES) ahead = new ReadAhead(READ_AHEAD_LIMIT, readAheadThreads());
    for (const { entry: file, ticket } of withReadAhead(filterEntries(listEntries(srcDir, walkOptions(false)), content), ahead)) {
      if (file.kind === 'directory') {
        if (file.mtimeMs > newestMtimeMs) newestMtimeMs = file.mtimeMs;
        writer.addDirectory(file.sitePath, Math.floor(file.mtimeMs / 1000));
        directories++;
        continue;
      }
      files++;
      let object: ObjectRef;
      let mime: string;
      let bytes: Buffer | undefined;
      // Started lazily, on the first chunk of a file too large to read whole.
      let sink: ObjectSink | undefined;
      let head: Buffer = Buffer.alloc(0);
      let read: SourceRead | undefined;
      let hash: Buffer | undefined;
      if (ticket) {
        const early = await ahead!.take(ticket);
        if (early.kind === 'whole') ({ hash, ...read } = early);
      }
      try {
        read ??= readSource(file.absPath, STREAM_THRESHOLD, STREAM_CHUNK, (chunk, first) => {
          if (first) head = Buffer.from(chunk.subarray(0, 64 * 1024));
          // Only a file over STREAM_THRESHOLD bytes comes in chunks: the writer aligns it (FORMAT.md section 2).
          (sink ??= writer.beginObject(STREAM_THRESHOLD)).write(chunk);
        });
      } catch (err) {
        sink?.abort();
        throw err;
      }
      const { size, mtimeMs } = read;
      if (mtimeMs > newestMtimeMs) newestMtimeMs = mtimeMs;
      if (read.kind === 'whole') {
        bytes = read.bytes;
        // (no await when the extension decides: a microtask per file otherwise)
        mime = mimeFromExtension(file.sitePath, overrides) ?? (await detectMime(file.sitePath, bytes, false, overrides));
        object = writer.addObject(bytes, hash);
      } else {
        object = (sink ?? writer.beginObject()).commit();
        mime = await detectMime(file.sitePath, head, true, overrides);
      }
      if (object.deduplicated) summary.deduplicated++;
      progress.filesDone++;
      progress.bytesDone += size;
      options.progress?.(progress);

      // (an earlier file with the same bytes may already have variants: they serve this one too.)
      let shared = compress && writer.hasSharedVariants(object);
      if (compress && !shared && isCompressible(mime)) {
        writer.shareVariants(object);
        shared = true;
        const key = object.hash.toString('hex');
        const previous = reusable.get(key);
        const reuse = previous !== undefined && previous.mime === mime ? previous : undefined;
        if (reuse || bytes) {
          // Reused variants take the same queue as fresh ones, so the layout (and the file) is the same either way.
          const work = reuse
            ? Promise.resolve(reuse.variants.map((v) => ({ encoding: v.encoding, bytes: v.bytes() })))
            : compressBuffer(bytes!, mime, settings);
          if (reuse) summary.reusedVariants += reuse.variants.length;
          pending.push({ size, identity: object, work });
          if (pending.length >= window) await storeOldest();
        } else {
          while (pending.length > 0) await storeOldest();
          noteVariants(size, await compressStreamed(writer, file.absPath, size, mime, settings, object));
        }
      }
      writer.addFile({ path: file.sitePath, mtime: Math.floor(mtimeMs / 1000), mime, object, sharedVariants: shared });
    }
    while (pending.length > 0) await storeOldest();

    const result = writer.finish({ generator: GENERATOR, created: options.created ?? createdDefault(newestMtimeMs) });
    return {
      file: dest,
      files,
      directories,
      bytesIn: progress.bytesDone,
      ...summary,
      size: result.size,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    old?.close();
    await ahead?.close();
  }
}

/**
 * Pairs each entry with its read-ahead ticket, queueing files up to `window`
 * entries ahead of the one being packed (half a window at a time).
 */
function* withReadAhead(entries: Iterable<Listed>, ahead: ReadAhead | undefined, window = READ_AHEAD_WINDOW): Generator<{ entry: Listed; ticket?: Ticket }, void, undefined> {
  if (ahead === undefined) {
    for (const entry of entries) yield { entry };
    return;
  }
  const it = entries[Symbol.iterator]();
  let queue: { entry: Listed; ticket?: Ticket }[] = [];
  let next = 0;
  let walked = false;
  for (;;) {
    if (!walked && queue.length - next < window / 2) {
      queue = queue.slice(next);
      next = 0;
      while (queue.length < window) {
        const r = it.next();
        if (r.done) {
          walked = true;
          break;
        }
        queue.push({ entry: r.value, ticket: r.value.kind === 'file' ? ahead.queue(r.value.absPath) : undefined });
      }
      ahead.flush();
    }
    if (next === queue.length) return;
    yield queue[next++]!;
  }
}

function* filterEntries<T extends Found | Listed>(entries: Iterable<T>, keep: (f: T) => boolean): Generator<T, void, undefined> {
  for (const e of entries) if (keep(e)) yield e;
}

/** Compresses a large file from disk straight into the webroot, one encoding after the other. */
async function compressStreamed(
  writer: WebrootWriter,
  abs: string,
  size: number,
  mime: string,
  settings: CompressionSettings,
  identity: ObjectRef,
): Promise<StoredVariants> {
  const stored: StoredVariants = [];
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
    if (worthKeeping(size, length)) {
      const object = sink.commit();
      writer.addSharedVariant(identity, encoding, object);
      stored.push({ encoding, object });
    } else {
      sink.abort();
    }
  }
  return stored;
}
