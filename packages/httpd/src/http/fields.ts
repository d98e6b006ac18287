/**
 * The header fields of a structured response as (name, value) pairs, in the
 * order the HTTP/1.1 serializer writes them, for sinks that take fields one by
 * one (node:http's ServerResponse, HTTP/2 header objects). The serializer
 * keeps its own string builder on the hot path; a table test checks that the
 * two agree field for field.
 */
import { formatHttpDate } from './dates.js';
import type { Field, HttpResponse } from './response.js';

/** Sent on every response, whatever carries it. */
export const NOSNIFF: Field = ['X-Content-Type-Options', 'nosniff'];

export function responseFields(res: HttpResponse): Field[] {
  const out: Field[] = [];
  if (res.location !== undefined) out.push(['Location', res.location]);
  if (res.allow !== undefined) out.push(['Allow', res.allow]);
  if (res.contentType !== undefined) out.push(['Content-Type', res.contentType]);
  if (res.contentLength !== undefined) out.push(['Content-Length', String(res.contentLength)]);
  if (res.contentEncoding !== undefined) out.push(['Content-Encoding', res.contentEncoding]);
  if (res.contentRange !== undefined) out.push(['Content-Range', res.contentRange]);
  if (res.etag !== undefined) out.push(['ETag', res.etag]);
  if (res.lastModified !== undefined) out.push(['Last-Modified', formatHttpDate(res.lastModified)]);
  if (res.cacheControl !== undefined) out.push(['Cache-Control', res.cacheControl]);
  if (res.vary !== undefined) out.push(['Vary', res.vary]);
  if (res.acceptRanges) out.push(['Accept-Ranges', 'bytes']);
  for (const f of res.extra) out.push(f);
  out.push(NOSNIFF);
  return out;
}
