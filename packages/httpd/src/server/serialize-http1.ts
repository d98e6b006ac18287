/**
 * The HTTP/1.1 serializer (RFC 9112 section 4 and 5): a structured response ->
 * its status line and header lines. Date and Connection are added by the
 * connection when it writes. Header blocks that depend on one stored
 * representation and the configuration alone are cached per stored object:
 * this is the per-object memo that used to live inside the pure steps.
 */
import { formatHttpDate } from '../http/dates.js';
import { RepresentationCache } from '../http/representation-cache.js';
import type { StoredObject } from '@webroot/format';
import type { HttpResponse } from '../http/response.js';
import { statusLine } from '../http/status.js';

/** Sent on every response. */
export const COMMON_LINES = 'X-Content-Type-Options: nosniff\r\nServer: webroot\r\n';

/** Status line and header lines of `res`, each ending in CRLF, without Date and Connection. */
export function serializeHead(res: HttpResponse): string {
  let s = statusLine(res.status);
  if (res.location !== undefined) s += `Location: ${res.location}\r\n`;
  if (res.allow !== undefined) s += `Allow: ${res.allow}\r\n`;
  if (res.contentType !== undefined) s += `Content-Type: ${res.contentType}\r\n`;
  if (res.contentLength !== undefined) s += `Content-Length: ${res.contentLength}\r\n`;
  if (res.contentEncoding !== undefined) s += `Content-Encoding: ${res.contentEncoding}\r\n`;
  if (res.contentRange !== undefined) s += `Content-Range: ${res.contentRange}\r\n`;
  if (res.etag !== undefined) s += `ETag: ${res.etag}\r\n`;
  if (res.lastModified !== undefined) s += `Last-Modified: ${formatHttpDate(res.lastModified)}\r\n`;
  if (res.cacheControl !== undefined) s += `Cache-Control: ${res.cacheControl}\r\n`;
  if (res.vary !== undefined) s += `Vary: ${res.vary}\r\n`;
  if (res.acceptRanges) s += 'Accept-Ranges: bytes\r\n';
  for (const [name, value] of res.extra) s += `${name}: ${value}\r\n`;
  return s + COMMON_LINES;
}

/** serializeHead, cached per stored representation (see RepresentationCache). */
export class Http1HeadCache extends RepresentationCache<string> {
  /** Whole 304 responses (head, Date, blank line) by stored object, rebuilt when the head or the second changes. */
  private readonly notModifiedBytes = new WeakMap<StoredObject, { headBlock: string; second: number; bytes: Buffer }>();

  constructor() {
    super(serializeHead);
  }

  head(res: HttpResponse): string {
    return this.get(res);
  }

  /**
   * The bytes of a keep-alive 304 of `object` (its `headBlock` from head(), `date` the IMF-fixdate of
   * `second`): one Buffer per object and second, so a revalidation writes a prebuilt buffer as a cached
   * 200 does, instead of joining and flattening a string per request. A buffer is never changed once
   * built (a write may still hold it): the next second gets a new one.
   */
  notModifiedResponse(object: StoredObject, headBlock: string, second: number, date: string): Buffer {
    const hit = this.notModifiedBytes.get(object);
    if (hit !== undefined && hit.second === second && hit.headBlock === headBlock) return hit.bytes;
    const bytes = Buffer.from(`${headBlock}Date: ${date}\r\n\r\n`, 'latin1');
    this.notModifiedBytes.set(object, { headBlock, second, bytes });
    return bytes;
  }
}
