/**
 * represent: a Resource plus the request -> a structured HttpResponse. Like
 * nginx's static handler and its filters: the file's full 200 representation
 * is described first, then content negotiation, preconditions (RFC 9110
 * section 13.2.2 order), If-Range and ranges, and HEAD are edits of it. Pure:
 * the current time is a parameter, nothing is cached here.
 */
import crypto from 'node:crypto';
import type { Encoding, FileEntry, StoredObject } from '@webroot/format';
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

function response(status: number, init: Partial<HttpResponse>): HttpResponse {
  return {
    status,
    contentType: init.contentType,
    contentLength: init.contentLength,
    contentEncoding: init.contentEncoding,
    contentRange: init.contentRange,
    etag: init.etag,
    lastModified: init.lastModified,
    cacheControl: init.cacheControl,
    vary: init.vary,
    acceptRanges: init.acceptRanges ?? false,
    location: init.location,
    allow: init.allow,
    extra: init.extra ?? NO_FIELDS,
    body: init.body ?? [],
    bodyLength: init.bodyLength ?? 0,
    site: init.site,
    close: init.close ?? false,
    cacheKey: init.cacheKey,
  };
}

/** A response whose body is `text` (dropped for HEAD: RFC 9110 section 9.3.2, errors included). */
function textResponse(status: number, text: string, isHead: boolean, init: Partial<HttpResponse> = {}): HttpResponse {
  const data = Buffer.from(text);
  return response(status, {
    contentType: TEXT,
    contentLength: data.length,
    body: isHead ? [] : [{ kind: 'buffer', data }],
    bodyLength: isHead ? 0 : data.length,
    ...init,
  });
}

/** The plain error response: `400 Bad Request\n`, with Allow on a 405. */
export function errorResponse(status: number, options: { close?: boolean; isHead?: boolean; extra?: readonly Field[] } = {}): HttpResponse {
  return textResponse(status, `${status} ${REASONS[status] ?? ''}\n`, options.isHead === true, {
    close: options.close === true,
    allow: status === 405 ? ALLOW : undefined,
    extra: options.extra ?? NO_FIELDS,
  });
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

/** A file with status 200: negotiation, preconditions, then Range. */
function representFile(resource: Extract<Resource, { kind: 'file' }>, req: RequestInfo, config: RepresentConfig, now: number): HttpResponse {
  const { entry, site } = resource;
  const extra = resource.extra ?? NO_FIELDS;
  const isHead = req.method === 'HEAD';
  const rep = select(entry, req.acceptEncoding);
  if (rep === undefined) return textResponse(406, `406 ${REASONS[406]}\n`, isHead, { vary: 'Accept-Encoding', extra });
  const { object, encoding, vary } = rep;
  if (resource.status !== 200) {
    // A file served with a rule's status (a 404 page, a 410): no validators, no precondition, no Range.
    return response(resource.status, {
      contentType: entry.mime,
      contentLength: object.length,
      contentEncoding: encoding,
      vary,
      extra,
      body: wholeBody(object, isHead),
      bodyLength: isHead ? 0 : object.length,
      site,
    });
  }
  const lastModified = lastModifiedOf(entry, now);
  // The header block is a function of the stored object and the configuration alone when the mtime is not clamped to "now".
  const stable = entry.mtime <= now;
  const validators = { etag: object.etag, lastModified, cacheControl: config.cacheControl || undefined, vary, extra };
  const outcome = evaluatePreconditions(
    req.method,
    { ifMatch: req.ifMatch, ifNoneMatch: req.ifNoneMatch, ifModifiedSince: req.ifModifiedSince, ifUnmodifiedSince: req.ifUnmodifiedSince },
    { etag: object.etag, lastModified },
  );
  if (outcome.kind === 'not-modified') {
    // RFC 9110 section 15.4.5: the fields a 200 would have carried for caching, no body, no Content-*.
    return response(304, { ...validators, cacheKey: stable ? { object, kind: 'not-modified' } : undefined });
  }
  if (outcome.kind === 'failed') return textResponse(412, `412 ${REASONS[412]}\n`, isHead, { extra });
  const whole = response(200, {
    ...validators,
    contentType: entry.mime,
    contentLength: object.length,
    contentEncoding: encoding,
    acceptRanges: true,
    body: wholeBody(object, isHead),
    bodyLength: isHead ? 0 : object.length,
    site,
    cacheKey: stable ? { object, kind: 'whole' } : undefined,
  });
  // Range applies to GET only (RFC 9110 section 14.2), to the selected representation.
  if (req.method !== 'GET' || req.range === undefined) return whole;
  if (!ifRangeHolds(req.ifRange, object.etag, lastModified)) return whole;
  const ranges = parseRange(req.range, object.length);
  if (ranges.kind === 'ignore') return whole;
  if (ranges.kind === 'unsatisfiable') {
    // RFC 9110 section 15.5.17: Content-Range with the current length; no Content-Encoding.
    return textResponse(416, `416 ${REASONS[416]}\n`, false, { contentRange: `bytes */${object.length}`, acceptRanges: true, vary, extra });
  }
  return partial(whole, rep, ranges.ranges);
}

/** 206 (RFC 9110 section 15.3.7): one range, or multipart/byteranges (section 14.6). */
function partial(whole: HttpResponse, rep: Representation, ranges: ByteRange[]): HttpResponse {
  const { entry, object } = rep;
  const base = { ...whole, status: 206, cacheKey: undefined };
  if (ranges.length === 1) {
    const r = ranges[0]!;
    const length = r.end - r.start + 1;
    return {
      ...base,
      contentLength: length,
      contentRange: `bytes ${r.start}-${r.end}/${object.length}`,
      body: [{ kind: 'object', object, start: r.start, end: r.end + 1 }],
      bodyLength: length,
    };
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
  return { ...base, contentType: `multipart/byteranges; boundary=${BOUNDARY}`, contentLength: total, body, bodyLength: total };
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
      return textResponse(404, `404 ${REASONS[404]}\n`, isHead, { extra });
    }
    case 'redirect':
      return textResponse(resource.status, `${resource.status} ${REASONS[resource.status] ?? ''}: ${resource.location}\n`, isHead, {
        location: resource.location,
        extra: resource.extra ?? NO_FIELDS,
      });
    case 'listing': {
      const data = Buffer.from(renderListing(resource.shownPath, resource.entries));
      return response(200, {
        contentType: 'text/html; charset=utf-8',
        contentLength: data.length,
        cacheControl: 'no-cache',
        extra: resource.extra ?? NO_FIELDS,
        body: isHead ? [] : [{ kind: 'buffer', data }],
        bodyLength: isHead ? 0 : data.length,
      });
    }
    case 'options':
      return response(204, { allow: ALLOW });
    case 'error':
      return errorResponse(resource.status, { close: resource.close, isHead, extra: resource.extra });
  }
}
