import { openWebroot, type Entry, type FileEntry, type Webroot } from '@webroot/format';
import { MkrootError } from './errors.js';
import { diffRules, type RulesDiff } from './rules/inspect-rules.js';

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

export function listEntries(w: Webroot): ListedEntry[] {
  return [...w.all()].map(describe).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
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

export interface WebrootDiff {
  added: string[];
  removed: string[];
  changed: { path: string; what: string[] }[];
  /** Site rules added, removed and changed (format version 2). */
  rules: RulesDiff;
}

/** What a deploy from `older` to `newer` changes: paths added, removed, and changed (content, type, kind). */
export function diffWebroots(older: Webroot, newer: Webroot): WebrootDiff {
  const diff: WebrootDiff = { added: [], removed: [], changed: [], rules: diffRules(older.rules, newer.rules) };
  for (const e of older.all()) if (!newer.lookup(e.path)) diff.removed.push(e.path);
  for (const e of newer.all()) {
    const before = older.lookup(e.path);
    if (!before) {
      diff.added.push(e.path);
      continue;
    }
    const what: string[] = [];
    if (before.kind !== e.kind) what.push('kind');
    else if (before.kind === 'file' && e.kind === 'file') {
      if (!before.object.hash.equals(e.object.hash)) what.push('content');
      if (before.mime !== e.mime) what.push('type');
    }
    if (what.length > 0) diff.changed.push({ path: e.path, what });
  }
  const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  diff.added.sort(byPath);
  diff.removed.sort(byPath);
  diff.changed.sort((a, b) => byPath(a.path, b.path));
  return diff;
}
