import { comparePaths, openWebroot, type Entry, type FileEntry, type Webroot } from '@webroot/format';
import { MkrootError } from './errors.js';
import { diffRules, type RulesDiff } from './rules/inspect-rules.js';

/** Site rules added, removed and changed between two webroots (format version 2; empty for version 1). */
export function diffWebrootRules(older: Webroot, newer: Webroot): RulesDiff {
  return diffRules(older.rules, newer.rules);
}

export interface ListedEntry {
  path: string;
  kind: Entry['kind'];
  size: number | null;
  mime: string | null;
  mtime: number;
  etag: string | null;
  variants: { encoding: string; size: number; etag: string }[];
}

function describe(e: Entry): ListedEntry {
  if (e.kind === 'directory') return { path: e.path, kind: e.kind, size: null, mime: null, mtime: e.mtime, etag: null, variants: [] };
  return {
    path: e.path,
    kind: e.kind,
    size: e.object.length,
    mime: e.mime,
    mtime: e.mtime,
    etag: e.object.etag,
    variants: e.variants.map((v) => ({ encoding: v.encoding, size: v.object.length, etag: v.object.etag })),
  };
}

/** Runs `fn` with an open webroot and always closes it. */
export function withWebroot<T>(file: string, fn: (w: Webroot) => T): T {
  const w = openWebroot(file);
  try {
    return fn(w);
  } finally {
    w.close();
  }
}

/** Every entry, described, in path order (bytewise UTF-8); streamed, so memory stays bounded. */
export function* listEntries(w: Webroot): Generator<ListedEntry> {
  for (const e of w.all()) yield describe(e);
}

export interface WebrootInfo {
  file: string;
  formatVersion: number;
  generator: string;
  created: string;
  files: number;
  directories: number;
  objects: number;
  variants: number;
  indexBytes: number;
  dataBytes: number;
  totalBytes: number;
  dataSha256: string;
  /** Site rules (format version 2): `_redirects` rules, `_headers` blocks. */
  redirectRules: number;
  headerBlocks: number;
}

export function describeWebroot(w: Webroot): WebrootInfo {
  let files = 0;
  let variants = 0;
  for (const e of w.all()) {
    if (e.kind === 'file') {
      files++;
      variants += e.variants.length;
    }
  }
  return {
    file: w.file,
    formatVersion: w.meta.formatVersion,
    generator: w.meta.generator,
    created: new Date(w.meta.created * 1000).toISOString(),
    files,
    directories: w.size - files,
    objects: w.meta.objectCount,
    variants,
    indexBytes: w.dataStart,
    dataBytes: w.meta.dataLength,
    totalBytes: w.identity.size,
    dataSha256: w.meta.dataSha256,
    redirectRules: w.rules.redirects.length,
    headerBlocks: w.rules.headers.length,
  };
}

/** The file entry at `sitePath` ('a/b.html' or '/a/b.html'), or a clear error. */
export function fileAt(w: Webroot, sitePath: string): FileEntry {
  const p = sitePath.startsWith('/') ? sitePath : `/${sitePath}`;
  const e = w.lookup(p);
  if (!e || e.kind !== 'file') {
    throw new MkrootError('MKROOT_PATH_NOT_FOUND', `${p}: no such file in ${w.file}${e ? ' (it is a directory)' : ''}; list paths with: mkroot ls ${w.file}`);
  }
  return e;
}

export type DiffItem =
  | { kind: 'added'; path: string }
  | { kind: 'removed'; path: string }
  | { kind: 'changed'; path: string; what: string[] };

/**
 * What a deploy from `older` to `newer` changes: paths added, removed, and
 * changed (content, type, kind), in path order. A merge of the two indexes'
 * ordered listings: memory stays bounded however many entries there are.
 */
export function* diffWebroots(older: Webroot, newer: Webroot): Generator<DiffItem> {
  const a = older.all();
  const b = newer.all();
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : comparePaths(x.value.path, y.value.path);
    if (order < 0) {
      yield { kind: 'removed', path: x.value!.path };
      x = a.next();
    } else if (order > 0) {
      yield { kind: 'added', path: y.value!.path };
      y = b.next();
    } else {
      const before = x.value!;
      const e = y.value!;
      const what: string[] = [];
      if (before.kind !== e.kind) what.push('kind');
      else if (before.kind === 'file' && e.kind === 'file') {
        if (!before.object.hash.equals(e.object.hash)) what.push('content');
        if (before.mime !== e.mime) what.push('type');
      }
      if (what.length > 0) yield { kind: 'changed', path: e.path, what };
      x = a.next();
      y = b.next();
    }
  }
}
