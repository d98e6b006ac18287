/**
 * The HTTP/2 serializer (RFC 9113 section 8.3.2): a structured response -> the
 * header object node:http2 sends. Field names are lower case (section 8.2.1);
 * connection-specific fields (Connection, Keep-Alive, Transfer-Encoding...)
 * never appear (section 8.2.2): the structured response has none, and the
 * `extra` of a site rule that names one is dropped here.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import { formatHttpDate } from '../http/dates.js';
import { RepresentationCache } from '../http/representation-cache.js';
import type { HttpResponse } from '../http/response.js';
import { CONNECTION_SPECIFIC, headerBlock, type H2Block } from './fast-respond.js';

/**
 * The header block of `res` for `stream.respond`. Without `date`, node:http2
 * adds its own (`sendDate`, the same IMF-fixdate, formatted once a second).
 */
export function h2Headers(res: HttpResponse, date?: string): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = { ':status': res.status };
  if (res.location !== undefined) h.location = res.location;
  if (res.allow !== undefined) h.allow = res.allow;
  if (res.contentType !== undefined) h['content-type'] = res.contentType;
  if (res.contentLength !== undefined) h['content-length'] = res.contentLength;
  if (res.contentEncoding !== undefined) h['content-encoding'] = res.contentEncoding;
  if (res.contentRange !== undefined) h['content-range'] = res.contentRange;
  if (res.etag !== undefined) h.etag = res.etag;
  if (res.lastModified !== undefined) h['last-modified'] = formatHttpDate(res.lastModified);
  if (res.cacheControl !== undefined) h['cache-control'] = res.cacheControl;
  if (res.vary !== undefined) h.vary = res.vary;
  if (res.acceptRanges) h['accept-ranges'] = 'bytes';
  for (const [name, value] of res.extra) {
    const lower = name.toLowerCase();
    if (!CONNECTION_SPECIFIC.has(lower)) h[lower] = value;
  }
  h['x-content-type-options'] = 'nosniff';
  h.server = 'webroot';
  if (date !== undefined) h.date = date;
  return h;
}

/**
 * h2Headers (without date) cached per stored representation, as Http1HeadCache
 * does for HTTP/1.1, with nghttp2's list of them (fast-respond.ts). `stream.respond`
 * copies the object, so sharing it is safe.
 */
export class H2HeadCache extends RepresentationCache<H2Block> {
  constructor() {
    super((res) => headerBlock(h2Headers(res)));
  }

  block(res: HttpResponse): H2Block {
    return this.get(res);
  }
}
