import { describe, expect, it } from 'vitest';
import { BOUNDARY, errorResponse, representResource } from '../src/http/represent.js';
import type { RequestInfo, Resource } from '../src/http/response.js';
import { Http1HeadCache, serializeHead } from '../src/server/serialize-http1.js';
import { fakeFile, fakeSite, request } from './helpers/fake-site.js';

const NOW = 1_800_000_000;
const MTIME = 1_700_000_000;
const LM = new Date(MTIME * 1000).toUTCString();
const page = fakeFile('/page.html', 1000, { variants: ['br', 'gzip'] });
const plain = fakeFile('/plain.bin', 500, { mime: 'application/octet-stream' });
const future = fakeFile('/future.txt', 10, { mtime: NOW + 100 });
const notFoundPage = fakeFile('/404.html', 40);
const site = fakeSite([page, plain, future, notFoundPage]);
const config = { cacheControl: 'no-cache' };

const file = (entry = plain, status = 200): Resource => ({ kind: 'file', site, entry, status });
const represent = (resource: Resource, fields: Partial<RequestInfo> = {}) => representResource(resource, request('/x', fields), config, NOW);

describe('representResource: a file (RFC 9110)', () => {
  it('200 carries the whole representation, its validators, and one body segment', () => {
    const r = represent(file());
    expect(r).toMatchObject({
      status: 200,
      contentType: 'application/octet-stream',
      contentLength: 500,
      etag: '"id-/plain.bin"',
      lastModified: MTIME,
      cacheControl: 'no-cache',
      acceptRanges: true,
      vary: undefined,
      bodyLength: 500,
    });
    expect(r.body).toEqual([{ kind: 'object', object: plain.object, start: 0, end: 500 }]);
    expect(r.cacheKey).toEqual({ object: plain.object, kind: 'whole' });
  });

  it('HEAD: the same fields, no body (RFC 9110 section 9.3.2)', () => {
    const r = represent(file(), { method: 'HEAD' });
    expect(r.contentLength).toBe(500);
    expect(r.body).toEqual([]);
    expect(r.bodyLength).toBe(0);
  });

  it.each([
    ['br, gzip', 'br'],
    ['gzip', 'gzip'],
    ['gzip;q=0, br;q=0', undefined],
    [undefined, undefined],
    ['identity', undefined],
  ])('Accept-Encoding %s -> Content-Encoding %s, Vary: Accept-Encoding (RFC 9110 section 12.5.3)', (ae, encoding) => {
    const r = represent(file(page), { acceptEncoding: ae });
    expect(r.contentEncoding).toBe(encoding);
    expect(r.vary).toBe('Accept-Encoding');
    const object = encoding === undefined ? page.object : page.variants.find((v) => v.encoding === encoding)!.object;
    expect(r.etag).toBe(object.etag);
  });

  it('nothing acceptable is a 406 with Vary (RFC 9110 section 15.5.7)', () => {
    const r = represent(file(page), { acceptEncoding: 'identity;q=0, *;q=0' });
    expect(r.status).toBe(406);
    expect(r.vary).toBe('Accept-Encoding');
  });

  it.each([
    [{ ifNoneMatch: '"id-/plain.bin"' }, 304],
    [{ ifNoneMatch: 'W/"id-/plain.bin"' }, 304],
    [{ ifNoneMatch: '*' }, 304],
    [{ ifNoneMatch: '"other"' }, 200],
    [{ ifModifiedSince: LM }, 304],
    [{ ifModifiedSince: LM, ifNoneMatch: '"other"' }, 200],
    [{ ifMatch: '"other"' }, 412],
    [{ ifMatch: '"id-/plain.bin"' }, 200],
    [{ ifUnmodifiedSince: new Date((MTIME - 10) * 1000).toUTCString() }, 412],
  ])('preconditions in RFC 9110 section 13.2.2 order: %o -> %i', (fields, status) => {
    expect(represent(file(), fields).status).toBe(status);
  });

  it('304 keeps the caching fields and drops Content-* and the body (RFC 9110 section 15.4.5)', () => {
    const r = represent(file(page), { ifNoneMatch: page.object.etag });
    expect(r).toMatchObject({ status: 304, etag: page.object.etag, lastModified: MTIME, cacheControl: 'no-cache', vary: 'Accept-Encoding' });
    expect(r.contentType).toBeUndefined();
    expect(r.contentLength).toBeUndefined();
    expect(r.body).toEqual([]);
    expect(r.cacheKey).toEqual({ object: page.object, kind: 'not-modified' });
    expect(serializeHead(r)).not.toMatch(/^Content-/m);
  });

  it.each([
    ['bytes=0-9', 206, 'bytes 0-9/500', 10],
    ['bytes=-10', 206, 'bytes 490-499/500', 10],
    ['bytes=490-', 206, 'bytes 490-499/500', 10],
    ['bytes=600-', 416, 'bytes */500', undefined],
    ['items=0-1', 200, undefined, 500],
  ])('Range %s -> %i %s (RFC 9110 section 14)', (range, status, contentRange, length) => {
    const r = represent(file(), { range });
    expect(r.status).toBe(status);
    expect(r.contentRange).toBe(contentRange);
    if (length !== undefined) expect(r.contentLength).toBe(length);
    if (status === 416) expect(r.contentEncoding).toBeUndefined();
  });

  it('multipart/byteranges for two ranges (RFC 9110 section 14.6), Content-Length the sum of its parts', () => {
    const r = represent(file(), { range: 'bytes=0-1,300-301' });
    expect(r.status).toBe(206);
    expect(r.contentType).toBe(`multipart/byteranges; boundary=${BOUNDARY}`);
    const total = r.body.reduce((n, s) => n + (s.kind === 'buffer' ? s.data.length : s.end - s.start), 0);
    expect(r.contentLength).toBe(total);
    expect(r.body.filter((s) => s.kind === 'object')).toHaveLength(2);
    expect(r.cacheKey).toBeUndefined();
  });

  it.each([
    [{ ifRange: '"id-/plain.bin"' }, 206],
    [{ ifRange: '"other"' }, 200],
    [{ ifRange: 'W/"id-/plain.bin"' }, 200],
    [{ ifRange: LM }, 206],
    [{ ifRange: new Date((MTIME + 1) * 1000).toUTCString() }, 200],
  ])('If-Range %o (RFC 9110 section 13.1.5) -> %i', (fields, status) => {
    expect(represent(file(), { range: 'bytes=0-0', ...fields }).status).toBe(status);
  });

  it('Range is ignored on HEAD (RFC 9110 section 14.2)', () => {
    expect(represent(file(), { method: 'HEAD', range: 'bytes=0-0' }).status).toBe(200);
  });

  it('a future mtime is clamped to now and makes the fields uncacheable (RFC 9110 section 8.8.2.1)', () => {
    const r = represent(file(future));
    expect(r.lastModified).toBe(NOW);
    expect(r.cacheKey).toBeUndefined();
  });
});

describe('representResource: the other resources', () => {
  it('the 404 page: status 404, its body negotiated, no validators, no Range', () => {
    const r = represent({ kind: 'not-found', site, page: notFoundPage }, { range: 'bytes=0-1', ifNoneMatch: '*' });
    expect(r).toMatchObject({ status: 404, contentLength: 40, etag: undefined, lastModified: undefined, acceptRanges: false });
    expect(r.body).toHaveLength(1);
  });

  it('a plain 404 without a page; HEAD has no body', () => {
    expect(represent({ kind: 'not-found' })).toMatchObject({ status: 404, contentType: 'text/plain; charset=utf-8', bodyLength: 14 });
    expect(represent({ kind: 'not-found' }, { method: 'HEAD' })).toMatchObject({ status: 404, contentLength: 14, bodyLength: 0, body: [] });
  });

  it('a redirect has Location and a short text body', () => {
    const r = represent({ kind: 'redirect', status: 301, location: '/guide/' });
    expect(r).toMatchObject({ status: 301, location: '/guide/' });
    expect(serializeHead(r)).toContain('HTTP/1.1 301 Moved Permanently\r\nLocation: /guide/\r\n');
  });

  it('OPTIONS is 204 with Allow and no Content-Length (RFC 9110 section 9.3.7)', () => {
    const r = represent({ kind: 'options' });
    expect(r).toMatchObject({ status: 204, allow: 'GET, HEAD, OPTIONS', contentLength: undefined, body: [] });
  });

  it('a 405 carries Allow (RFC 9110 section 15.5.6); any error to HEAD has no body (section 9.3.2)', () => {
    expect(represent({ kind: 'error', status: 405 })).toMatchObject({ status: 405, allow: 'GET, HEAD, OPTIONS' });
    expect(represent({ kind: 'error', status: 400, close: true }, { method: 'HEAD' })).toMatchObject({ status: 400, close: true, body: [], bodyLength: 0 });
    expect(errorResponse(400, { isHead: true }).body).toEqual([]);
  });

  it('a 503 keeps its Retry-After field', () => {
    expect(serializeHead(represent({ kind: 'error', status: 503, extra: [['Retry-After', '5']] }))).toContain('Retry-After: 5\r\n');
  });

  it('a listing is HTML, no-cache', () => {
    const r = represent({ kind: 'listing', site, dir: '/', shownPath: '/', entries: [plain] });
    expect(r).toMatchObject({ status: 200, contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' });
    expect((r.body[0] as { data: Buffer }).data.toString()).toContain('plain.bin');
  });
});

describe('Http1HeadCache.notModifiedResponse: prebuilt keep-alive 304 bytes', () => {
  const DATE_A = 'Tue, 01 Dec 2026 17:00:00 GMT';
  const DATE_B = 'Tue, 01 Dec 2026 17:00:01 GMT';

  it('is the head, the Date field and the blank line that end a 304 (RFC 9110 section 15.4.5, RFC 9112 section 2.1)', () => {
    const heads = new Http1HeadCache();
    const r = represent(file(page), { ifNoneMatch: page.object.etag });
    expect(r.cacheKey).toEqual({ object: page.object, kind: 'not-modified' });
    const headBlock = heads.head(r);
    const bytes = heads.notModifiedResponse(page.object, headBlock, 100, DATE_A);
    expect(bytes.toString('latin1')).toBe(`${headBlock}Date: ${DATE_A}\r\n\r\n`);
    expect(bytes.toString('latin1')).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
  });

  it('is one buffer per object and second, and a new one (never the old one changed) for a new second or head', () => {
    const heads = new Http1HeadCache();
    const a = heads.notModifiedResponse(page.object, 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n', 100, DATE_A);
    expect(heads.notModifiedResponse(page.object, 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n', 100, DATE_A)).toBe(a);
    const b = heads.notModifiedResponse(page.object, 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n', 101, DATE_B);
    expect(b).not.toBe(a);
    expect(a.toString('latin1')).toContain(DATE_A);
    expect(b.toString('latin1')).toContain(DATE_B);
    const c = heads.notModifiedResponse(page.object, 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nCache-Control: max-age=60\r\n', 101, DATE_B);
    expect(c.toString('latin1')).toContain('Cache-Control: max-age=60\r\n');
  });
});
