import { NO_RULES, compileRules, comparePaths, type Entry, type FileEntry, type SiteRules, type StoredObject, type Webroot } from '@webroot/format';
import type { RequestInfo } from '../../src/http/response.js';
import { Site } from '../../src/vhosts/site.js';

let nextOffset = 0;

/** A stored object with a made-up position and an ETag derived from `tag`. */
export function fakeObject(length: number, tag: string): StoredObject {
  const offset = nextOffset;
  nextOffset += length;
  return { offset, length, hash: Buffer.alloc(32), etag: `"${tag}"` };
}

export function fakeFile(path: string, length: number, options: { mime?: string; mtime?: number; variants?: ('br' | 'gzip')[] } = {}): FileEntry {
  return {
    kind: 'file',
    path,
    mtime: options.mtime ?? 1_700_000_000,
    mime: options.mime ?? 'text/html; charset=utf-8',
    object: fakeObject(length, `id-${path}`),
    variants: (options.variants ?? []).map((encoding) => ({ encoding, object: fakeObject(Math.ceil(length / 3), `${encoding}-${path}`) })),
  };
}

/** A site whose index holds `entries` (directories are added for every parent), with `rules`; no bytes behind it. */
export function fakeSite(entries: FileEntry[], name = '__default__', rules: SiteRules = NO_RULES): Site {
  const map = new Map<string, Entry>();
  map.set('/', { kind: 'directory', path: '/', mtime: 1_700_000_000 });
  for (const e of entries) {
    map.set(e.path, e);
    const parts = e.path.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (!map.has(dir)) map.set(dir, { kind: 'directory', path: dir, mtime: 1_700_000_000 });
    }
  }
  const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
  const children = (dir: string) => [...map.values()].filter((e) => e.path !== '/' && parentOf(e.path) === dir).sort((a, b) => comparePaths(a.path, b.path));
  const webroot = { file: `${name}.webroot`, rules, compiledRules: compileRules(rules), lookup: (p: string) => map.get(p), all: () => [...map.values()], children, close: () => {} } as unknown as Webroot;
  return new Site(name, webroot);
}

/** A GET of `target` for host `host` over HTTP/1.1, with `fields` overriding any member. */
export function request(target: string, fields: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'GET',
    target,
    authority: 'example.test',
    hostCount: 1,
    minor: 1,
    scheme: 'http',
    acceptEncoding: undefined,
    range: undefined,
    ifRange: undefined,
    ifMatch: undefined,
    ifNoneMatch: undefined,
    ifModifiedSince: undefined,
    ifUnmodifiedSince: undefined,
    ...fields,
  };
}
