import { openWebroot, type FileEntry } from '@webroot/format';
import { MTIME } from './site.js';

/**
 * Requests whose answers must be the same from every server of the default
 * test site (helpers/site.ts), whatever carries them: httpd itself, and the
 * serveWebroot middleware in node:http, express and fastify. Each case has the
 * status it must get; the middleware tests also compare every response with
 * httpd's, field for field. `%E` in a header value is the ETag of the case's path.
 */
export interface StaticCase {
  name: string;
  method: string;
  /** Site path (the mount point is put in front of it). */
  path: string;
  headers?: Record<string, string>;
  status: number;
}

const LAST_MODIFIED = new Date(MTIME * 1000).toUTCString();

export const STATIC_CASES: StaticCase[] = [
  { name: 'GET / serves index.html', method: 'GET', path: '/', status: 200 },
  { name: 'GET a file', method: 'GET', path: '/about.html', status: 200 },
  { name: 'HEAD has the GET fields and no body (RFC 9110 section 9.3.2)', method: 'HEAD', path: '/about.html', status: 200 },
  { name: 'an empty file', method: 'GET', path: '/empty.txt', status: 200 },
  { name: 'a 3 MiB file (the pumped, backpressured path)', method: 'GET', path: '/big.bin', status: 200 },
  { name: 'If-None-Match with the current ETag: 304 (RFC 9110 section 13.1.2)', method: 'GET', path: '/about.html', headers: { 'If-None-Match': '%E' }, status: 304 },
  { name: 'If-None-Match other: 200', method: 'GET', path: '/about.html', headers: { 'If-None-Match': '"nope"' }, status: 200 },
  { name: 'If-Match other: 412 (13.1.1)', method: 'GET', path: '/about.html', headers: { 'If-Match': '"nope"' }, status: 412 },
  { name: 'If-Modified-Since at Last-Modified: 304 (13.1.3)', method: 'GET', path: '/about.html', headers: { 'If-Modified-Since': LAST_MODIFIED }, status: 304 },
  { name: 'If-Unmodified-Since before: 412 (13.1.4)', method: 'GET', path: '/about.html', headers: { 'If-Unmodified-Since': new Date((MTIME - 60) * 1000).toUTCString() }, status: 412 },
  { name: 'If-Match failure before If-None-Match (13.2.2 order)', method: 'GET', path: '/about.html', headers: { 'If-Match': '"nope"', 'If-None-Match': '%E' }, status: 412 },
  { name: 'one range: 206 (RFC 9110 section 14.2, 15.3.7)', method: 'GET', path: '/big.bin', headers: { Range: 'bytes=100-199' }, status: 206 },
  { name: 'a suffix range', method: 'GET', path: '/big.bin', headers: { Range: 'bytes=-10' }, status: 206 },
  { name: 'several ranges: multipart/byteranges (14.6)', method: 'GET', path: '/big.bin', headers: { Range: 'bytes=0-9,1000-1009' }, status: 206 },
  { name: 'an unsatisfiable range: 416 (15.5.17)', method: 'GET', path: '/big.bin', headers: { Range: 'bytes=99999999-' }, status: 416 },
  { name: 'If-Range with another ETag: the whole 200 (13.1.5)', method: 'GET', path: '/about.html', headers: { Range: 'bytes=0-3', 'If-Range': '"nope"' }, status: 200 },
  { name: 'If-Range with the ETag: 206', method: 'GET', path: '/about.html', headers: { Range: 'bytes=0-3', 'If-Range': '%E' }, status: 206 },
  { name: 'HEAD ignores Range', method: 'HEAD', path: '/big.bin', headers: { Range: 'bytes=0-9' }, status: 200 },
  { name: 'Accept-Encoding br: the br variant with Vary (RFC 9110 section 12.5.3)', method: 'GET', path: '/index.html', headers: { 'Accept-Encoding': 'gzip;q=0.5, br' }, status: 200 },
  { name: 'Accept-Encoding gzip', method: 'GET', path: '/index.html', headers: { 'Accept-Encoding': 'gzip' }, status: 200 },
  { name: 'a range of the compressed variant', method: 'GET', path: '/big.txt', headers: { 'Accept-Encoding': 'gzip', Range: 'bytes=0-99' }, status: 206 },
  { name: 'nothing acceptable: 406 with Vary', method: 'GET', path: '/index.html', headers: { 'Accept-Encoding': 'identity;q=0, *;q=0' }, status: 406 },
  { name: '/dir redirects to /dir/ keeping the query', method: 'GET', path: '/docs?x=1', status: 301 },
  { name: '/dir/ serves dir/index.html', method: 'GET', path: '/docs/', status: 200 },
  { name: 'percent-decoding: %2B', method: 'GET', path: '/c%2B%2B.html', status: 200 },
  { name: 'a UTF-8 name', method: 'GET', path: '/caf%C3%A9.html', status: 200 },
  { name: 'dot segments stay inside the site', method: 'GET', path: '/docs/../about.html', status: 200 },
  { name: 'POST to a file: 405 with Allow (RFC 9110 section 15.5.6)', method: 'POST', path: '/about.html', status: 405 },
  { name: 'DELETE to a directory: 405', method: 'DELETE', path: '/docs/', status: 405 },
  { name: 'OPTIONS: 204 with Allow (9.3.7)', method: 'OPTIONS', path: '/about.html', status: 204 },
];

/** Fields that must be equal between two servers of the same site (Date, Server, Connection and framework extras differ). */
export const COMPARED_FIELDS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-range',
  'etag',
  'last-modified',
  'cache-control',
  'vary',
  'accept-ranges',
  'allow',
  'x-content-type-options',
];

/** The ETag of a site path's file (its index.html for a directory) in `webrootFile`. */
export function etagOf(webrootFile: string, sitePath: string): string {
  const w = openWebroot(webrootFile);
  try {
    const p = decodeURIComponent(sitePath.split('?')[0]!);
    const e = w.lookup(p.endsWith('/') ? `${p}index.html` : p) as FileEntry | undefined;
    return e?.object.etag ?? '"none"';
  } finally {
    w.close();
  }
}

/** A case's request fields, `%E` replaced by the ETag of its path in `webrootFile`. */
export function caseHeaders(c: StaticCase, webrootFile: string): Record<string, string> {
  return Object.fromEntries(Object.entries(c.headers ?? {}).map(([k, v]) => [k, v.replace('%E', etagOf(webrootFile, c.path))]));
}
