/**
 * represent: a Resource plus the request -> a structured HttpResponse. Like
 * nginx's static handler and its filters: the file's full 200 representation
 * is described first, then content negotiation, preconditions (RFC 9110
 * section 13.2.2 order), If-Range and ranges, and HEAD are edits of it. Pure:
 * the current time is a parameter, nothing is cached here.
 */
import crypto from 'node:crypto';
import { NOT_MODIFIED_FIELDS, type Encoding, type FileEntry, type StoredObject } from '@webroot/format';
import { renderListing } from './autoindex.js';
import { parseHttpDate } from './dates.js';
import { negotiateEncoding } from './negotiate.js';
import { evaluatePreconditions } from './preconditions.js';
import { parseRange, type ByteRange } from './range.js';
import type { Field, HttpResponse, RequestInfo, Resource, Segment } from './response.js';
import { REASONS } from './status.js';

export interface RepresentConfig {
  /** Cache-Control sent with files ('' for none). */
  cacheControl: string;
}

export const ALLOW = 'GET, HEAD, OPTIONS';
/** Boundary for multipart/byteranges; random per process so it cannot be guessed into content. */
export const BOUNDARY = `webroot-${crypto.randomBytes(12).toString('hex')}`;
const TEXT = 'text/plain; charset=utf-8';
const NO_FIELDS: readonly Field[] = [];

/**
 * The one shape every HttpResponse has: a class with every member set in the
 * constructor keeps property access monomorphic. (Building responses with
 * object spreads cost 3-4 us each here: V8 clones spread literals on a slow path.)
 */
class Response implements HttpResponse {
  contentType: string | undefined = undefined;
  contentLength: number | undefined = undefined;
  contentEncoding: Encoding | undefined = undefined;
  contentRange: string | undefined = undefined;
  etag: string | undefined = undefined;
  lastModified: number | undefined = undefined;
  cacheControl: string | undefined = undefined;
  vary: string | undefined = undefined;
  acceptRanges = false;
  location: string | undefined = undefined;
  allow: string | undefined = undefined;
  extra: readonly Field[] = NO_FIELDS;
  body: Segment[] = [];
  bodyLength = 0;
  site: HttpResponse['site'] = undefined;
  close = false;
  cacheKey: HttpResponse['cacheKey'] = undefined;
  constructor(public status: number) {}
}

/** A copy of `r` with another status, for the edits of later steps (206). */
function copy(r: HttpResponse, status: number): Response {
  const c = new Response(status);
  c.contentType = r.contentType;
  c.contentLength = r.contentLength;
  c.contentEncoding = r.contentEncoding;
  c.contentRange = r.contentRange;
  c.etag = r.etag;
  c.lastModified = r.lastModified;
  c.cacheControl = r.cacheControl;
  c.vary = r.vary;
  c.acceptRanges = r.acceptRanges;
  c.location = r.location;
  c.allow = r.allow;
  c.extra = r.extra;
  c.body = r.body;
  c.bodyLength = r.bodyLength;
  c.site = r.site;
  c.close = r.close;
  return c;
}

/** A response whose body is `text` (dropped for HEAD: RFC 9110 section 9.3.2, errors included). */
function textResponse(status: number, text: string, isHead: boolean, extra: readonly Field[] = NO_FIELDS): Response {
  const data = Buffer.from(text);
  const r = new Response(status);
  r.contentType = TEXT;
  r.contentLength = data.length;
  if (!isHead) {
    r.body = [{ kind: 'buffer', data }];
    r.bodyLength = data.length;
  }
  r.extra = extra;
  return r;
}

/** The plain error response: `400 Bad Request\n`, with Allow on a 405. */
export function errorResponse(status: number, options: { close?: boolean; isHead?: boolean; extra?: readonly Field[] } = {}): HttpResponse {
  const r = textResponse(status, `${status} ${REASONS[status] ?? ''}\n`, options.isHead === true, options.extra);
  r.close = options.close === true;
  if (status === 405) r.allow = ALLOW;
  return r;
}

/** RFC 9110 section 8.8.2.1: a Last-Modified is never later than the Date we send. */
function lastModifiedOf(entry: FileEntry, now: number): number {
  return Math.min(entry.mtime, now);
}

/** If-Range (RFC 9110 section 13.1.5): true when the Range may be honoured. */
export function ifRangeHolds(value: string | undefined, etag: string, lastModified: number): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag; // strong comparison; a weak tag never matches
  const date = parseHttpDate(v);
  return date !== undefined && date === lastModified;
}

interface Representation {
  entry: FileEntry;
  object: StoredObject;
  encoding: Encoding | undefined;
  vary: string | undefined;
}

/** Content negotiation (RFC 9110 section 12.5.3): the stored object to send, or undefined for 406. */
function select(entry: FileEntry, acceptEncoding: string | undefined): Representation | undefined {
  const vary = entry.variants.length > 0 ? 'Accept-Encoding' : undefined;
  if (vary === undefined) return { entry, object: entry.object, encoding: undefined, vary };
  const choice = negotiateEncoding(acceptEncoding, entry.variants.map((v) => v.encoding));
  if (choice === 'none') return undefined;
  if (choice === 'identity') return { entry, object: entry.object, encoding: undefined, vary };
  return { entry, object: entry.variants.find((v) => v.encoding === choice)!.object, encoding: choice, vary };
}

function wholeBody(object: StoredObject, isHead: boolean): Segment[] {
  return isHead || object.length === 0 ? [] : [{ kind: 'object', object, start: 0, end: object.length }];
}

/** Whether the site's `_headers` set Cache-Control for this path: it then replaces `--cache-control`. */
function setsCacheControl(extra: readonly Field[]): boolean {
  for (const [name] of extra) if (name.length === 13 && name.toLowerCase() === 'cache-control') return true;
  return false;
}

/**
 * RFC 9110 section 15.4.5: a 304 carries, of the site's fields, only those a
 * 200 would have sent for caching (Cache-Control, Content-Location, Expires;
 * Date, ETag and Vary are the server's). The same array when nothing is dropped,
 * so the serializer's header cache still hits.
 */
export function notModifiedFields(extra: readonly Field[]): readonly Field[] {
  const kept = extra.filter(([name]) => (NOT_MODIFIED_FIELDS as readonly string[]).includes(name.toLowerCase()));
  return kept.length === extra.length ? extra : kept;
}

/** A file with status 200: negotiation, preconditions, then Range. */
function representFile(resource: Extract<Resource, { kind: 'file' }>, req: RequestInfo, config: RepresentConfig, now: number): HttpResponse {
  const { entry, site } = resource;
  const extra = resource.extra ?? NO_FIELDS;
  const isHead = req.method === 'HEAD';
  const rep = select(entry, req.acceptEncoding);
  if (rep === undefined) {
    const r = textResponse(406, `406 ${REASONS[406]}\n`, isHead, extra);
    r.vary = 'Accept-Encoding';
    return r;
  }
  const { object, encoding, vary } = rep;
  const r = new Response(resource.status);
  r.contentType = entry.mime;
  r.contentLength = object.length;
  r.contentEncoding = encoding;
  r.vary = vary;
  r.extra = extra;
  r.body = wholeBody(object, isHead);
  r.bodyLength = isHead ? 0 : object.length;
  r.site = site;
  // A file served with a rule's status (a 404 page, a 410): no validators, no precondition, no Range.
  if (resource.status !== 200) return r;

  const lastModified = lastModifiedOf(entry, now);
  // The header block is a function of the stored object and the configuration alone when the mtime is not clamped to "now".
  const stable = entry.mtime <= now;
  r.etag = object.etag;
  r.lastModified = lastModified;
  // A Cache-Control from the site's _headers replaces the host's ([[host]] in the configuration) or --cache-control.
  r.cacheControl = setsCacheControl(extra) ? undefined : (site.settings?.cacheControl ?? config.cacheControl) || undefined;
  const outcome = evaluatePreconditions(
    req.method,
    { ifMatch: req.ifMatch, ifNoneMatch: req.ifNoneMatch, ifModifiedSince: req.ifModifiedSince, ifUnmodifiedSince: req.ifUnmodifiedSince },
    { etag: object.etag, lastModified },
  );
  if (outcome.kind === 'not-modified') {
    // RFC 9110 section 15.4.5: the fields a 200 would have carried for caching, no body, no Content-*.
    r.status = 304;
    r.contentType = undefined;
    r.contentLength = undefined;
    r.contentEncoding = undefined;
    r.extra = notModifiedFields(extra);
    r.body = [];
    r.bodyLength = 0;
    r.site = undefined;
    if (stable) r.cacheKey = { object, kind: 'not-modified' };
    return r;
  }
  if (outcome.kind === 'failed') return textResponse(412, `412 ${REASONS[412]}\n`, isHead, extra);
  r.acceptRanges = true;
  if (stable) r.cacheKey = { object, kind: 'whole' };
  // Range applies to GET only (RFC 9110 section 14.2), to the selected representation.
  if (req.method !== 'GET' || req.range === undefined) return r;
  if (!ifRangeHolds(req.ifRange, object.etag, lastModified)) return r;
  const ranges = parseRange(req.range, object.length);
  if (ranges.kind === 'ignore') return r;
  if (ranges.kind === 'unsatisfiable') {
    // RFC 9110 section 15.5.17: Content-Range with the current length; no Content-Encoding.
    const u = textResponse(416, `416 ${REASONS[416]}\n`, false, extra);
    u.contentRange = `bytes */${object.length}`;
    u.acceptRanges = true;
    u.vary = vary;
    return u;
  }
  return partial(r, rep, ranges.ranges);
}

/** 206 (RFC 9110 section 15.3.7): one range, or multipart/byteranges (section 14.6). */
function partial(whole: HttpResponse, rep: Representation, ranges: ByteRange[]): HttpResponse {
  const { entry, object } = rep;
  const res = copy(whole, 206);
  if (ranges.length === 1) {
    const r = ranges[0]!;
    const length = r.end - r.start + 1;
    res.contentLength = length;
    res.contentRange = `bytes ${r.start}-${r.end}/${object.length}`;
    res.body = [{ kind: 'object', object, start: r.start, end: r.end + 1 }];
    res.bodyLength = length;
    return res;
  }
  const body: Segment[] = [];
  let total = 0;
  ranges.forEach((r, i) => {
    const partHead = Buffer.from(`${i === 0 ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Type: ${entry.mime}\r\nContent-Range: bytes ${r.start}-${r.end}/${object.length}\r\n\r\n`);
    body.push({ kind: 'buffer', data: partHead }, { kind: 'object', object, start: r.start, end: r.end + 1 });
    total += partHead.length + (r.end - r.start + 1);
  });
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  body.push({ kind: 'buffer', data: tail });
  total += tail.length;
  res.contentType = `multipart/byteranges; boundary=${BOUNDARY}`;
  res.contentLength = total;
  res.body = body;
  res.bodyLength = total;
  return res;
}

/** Decides the response to a resolved request. */
export function representResource(resource: Resource, req: RequestInfo, config: RepresentConfig, now: number): HttpResponse {
  const isHead = req.method === 'HEAD';
  switch (resource.kind) {
    case 'file':
      return representFile(resource, req, config, now);
    case 'not-found': {
      const extra = resource.extra ?? NO_FIELDS;
      if (resource.page !== undefined && resource.site !== undefined) {
        // The 404 body is negotiated like any file, but no precondition or Range applies to it.
        const page = representFile({ kind: 'file', site: resource.site, entry: resource.page, status: 404, extra }, req, config, now);
        if (page.status === 404) return page;
      }
      return textResponse(404, `404 ${REASONS[404]}\n`, isHead, extra);
    }
    case 'redirect': {
      const r = textResponse(resource.status, `${resource.status} ${REASONS[resource.status] ?? ''}: ${resource.location}\n`, isHead, resource.extra);
      r.location = resource.location;
      // Every field is a function of the resource (status, Location, its extra): a site's memoised redirect reuses its head.
      if (resource.memoised === true) r.cacheKey = { kind: 'redirect', resource };
      return r;
    }
    case 'listing': {
      const r = textResponse(200, renderListing(resource.shownPath, resource.entries), isHead, resource.extra);
      r.contentType = 'text/html; charset=utf-8';
      r.cacheControl = setsCacheControl(resource.extra ?? NO_FIELDS) ? undefined : 'no-cache';
      return r;
    }
    case 'text': {
      const r = textResponse(resource.status, resource.text, isHead);
      r.contentType = resource.contentType;
      r.cacheControl = 'no-store';
      return r;
    }
    case 'options': {
      const r = new Response(204);
      r.allow = ALLOW;
      return r;
    }
    case 'error':
      return errorResponse(resource.status, { close: resource.close, isHead, extra: resource.extra });
  }
}
