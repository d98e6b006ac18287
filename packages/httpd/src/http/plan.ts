import crypto from 'node:crypto';
import type { Encoding, Entry, FileEntry, StoredObject } from '@webroot/format';
import type { Site } from '../vhosts/site.js';
import { formatHttpDate, nowSeconds, parseHttpDate } from './dates.js';
import { normaliseHost } from './host.js';
import { negotiateEncoding } from './negotiate.js';
import { RequestHeaders, type RequestHead } from './parse-request.js';
import { evaluatePreconditions } from './preconditions.js';
import { parseRange, type ByteRange } from './range.js';
import { REASONS } from './status.js';
import { parseTarget } from './target.js';
import { renderListing } from './autoindex.js';

/** Bytes to send: literal bytes, or a range [start, end) of a stored object. */
export type Segment =
  | { kind: 'buffer'; data: Buffer }
  | { kind: 'object'; object: StoredObject; start: number; end: number };

/** What to send, decided before any IO. */
export interface Plan {
  status: number;
  /** Header lines after the status line, each ending in CRLF; Date and Connection are added when sending. */
  headers: string;
  /** Segments of the body; empty for HEAD, 304 and 204. */
  body: Segment[];
  /** The site whose webroot `body` reads from (held open until the response ends). */
  site?: Site;
  /** Close the connection after this response. */
  close?: boolean;
  /** For the access log: bytes of body. */
  bodyLength: number;
}

export interface PlanConfig {
  cacheControl: string;
  autoindex: boolean;
}

export interface SiteLookup {
  lookup(host: string): Site | undefined;
}

export const ALLOW = 'GET, HEAD, OPTIONS';
const COMMON = 'X-Content-Type-Options: nosniff\r\nServer: webroot\r\n';
/** Boundary for multipart/byteranges; random per process so it cannot be guessed into content. */
export const BOUNDARY = `webroot-${crypto.randomBytes(12).toString('hex')}`;

function textPlan(status: number, extra = '', close = false, head = false): Plan {
  const body = Buffer.from(`${status} ${REASONS[status] ?? ''}\n`);
  return {
    status,
    headers: `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n${extra}${COMMON}`,
    body: head ? [] : [{ kind: 'buffer', data: body }],
    bodyLength: head ? 0 : body.length,
    close,
  };
}

/** A plain error response (also used by the connection for 400/408/414/431/505). */
export function errorPlan(status: number, close = false, head = false): Plan {
  return textPlan(status, status === 405 ? `Allow: ${ALLOW}\r\n` : '', close, head);
}

function lastModifiedOf(entry: FileEntry): number {
  // RFC 9110 section 8.8.2.1: never later than the Date we send.
  return Math.min(entry.mtime, nowSeconds());
}

/** Header lines describing one stored representation, shared by 200, 206 and HEAD. */
function validatorLines(entry: FileEntry, object: StoredObject, config: PlanConfig): string {
  return (
    `ETag: ${object.etag}\r\nLast-Modified: ${formatHttpDate(lastModifiedOf(entry))}\r\n` +
    (config.cacheControl ? `Cache-Control: ${config.cacheControl}\r\n` : '') +
    varyLine(entry)
  );
}

/** Content-Type, Content-Length and Content-Encoding of a body. */
function contentLines(mime: string, length: number, encoding: Encoding | undefined): string {
  return `Content-Type: ${mime}\r\nContent-Length: ${length}\r\n${encoding ? `Content-Encoding: ${encoding}\r\n` : ''}`;
}

const varyLine = (entry: FileEntry) => (entry.variants.length > 0 ? 'Vary: Accept-Encoding\r\n' : '');

/**
 * A header block derived from an immutable entry, built once per stored object and
 * kept on the site; not kept when the mtime is in the future, since it is clamped
 * to "now", which moves.
 */
function cachedLines(cache: Map<StoredObject, string>, entry: FileEntry, object: StoredObject, build: () => string): string {
  let lines = cache.get(object);
  if (lines === undefined) {
    lines = build();
    if (entry.mtime <= nowSeconds()) cache.set(object, lines);
  }
  return lines;
}

/** If-Range (RFC 9110 section 13.1.5): true when the Range may be honoured. */
function ifRangeHolds(value: string | undefined, object: StoredObject, lastModified: number): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === object.etag; // strong comparison; weak never matches
  const date = parseHttpDate(v);
  return date !== undefined && date === lastModified;
}

function planFile(head: RequestHead, site: Site, entry: FileEntry, config: PlanConfig, status = 200): Plan {
  const h = head.headers;
  const isHead = head.method === 'HEAD';
  let object = entry.object;
  let encoding: Encoding | undefined;
  if (entry.variants.length > 0) {
    const choice = negotiateEncoding(h['accept-encoding'], entry.variants.map((v) => v.encoding));
    if (choice === 'none') return textPlan(406, 'Vary: Accept-Encoding\r\n', false, isHead);
    if (choice !== 'identity') {
      encoding = choice;
      object = entry.variants.find((v) => v.encoding === choice)!.object;
    }
  }
  const lastModified = lastModifiedOf(entry);
  if (status === 200) {
    const outcome = evaluatePreconditions(
      head.method,
      { ifMatch: h['if-match'], ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'], ifUnmodifiedSince: h['if-unmodified-since'] },
      { etag: object.etag, lastModified },
    );
    if (outcome.kind === 'not-modified') {
      // RFC 9110 section 15.4.5: the fields a 200 would have carried for caching, no body, no Content-*.
      const headers = cachedLines(site.notModifiedCache, entry, object, () => validatorLines(entry, object, config) + COMMON);
      return { status: 304, headers, body: [], bodyLength: 0 };
    }
    if (outcome.kind === 'failed') return textPlan(412, '', false, isHead);
  }
  const whole: Plan = {
    status,
    headers:
      status === 200
        ? cachedLines(site.headCache, entry, object, () => `${contentLines(entry.mime, object.length, encoding)}${validatorLines(entry, object, config)}Accept-Ranges: bytes\r\n${COMMON}`)
        : `${contentLines(entry.mime, object.length, encoding)}${varyLine(entry)}${COMMON}`, // a 404 page: no validators
    body: isHead || object.length === 0 ? [] : [{ kind: 'object', object, start: 0, end: object.length }],
    bodyLength: isHead ? 0 : object.length,
    site,
  };
  // Range applies to GET only (RFC 9110 section 14.2), to the selected representation.
  if (status !== 200 || head.method !== 'GET' || h.range === undefined) return whole;
  if (!ifRangeHolds(h['if-range'], object, lastModified)) return whole;
  const outcome = parseRange(h.range, object.length);
  if (outcome.kind === 'ignore') return whole;
  if (outcome.kind === 'unsatisfiable') {
    // RFC 9110 section 15.5.17: Content-Range with the current length; no Content-Encoding.
    return textPlan(416, `Content-Range: bytes */${object.length}\r\nAccept-Ranges: bytes\r\n${varyLine(entry)}`);
  }
  return rangePlan(entry, object, encoding, outcome.ranges, site, config);
}

function rangePlan(entry: FileEntry, object: StoredObject, encoding: Encoding | undefined, ranges: ByteRange[], site: Site, config: PlanConfig): Plan {
  const common = `${validatorLines(entry, object, config)}Accept-Ranges: bytes\r\n${COMMON}`;
  if (ranges.length === 1) {
    const r = ranges[0]!;
    const length = r.end - r.start + 1;
    return {
      status: 206,
      headers: `${contentLines(entry.mime, length, encoding)}Content-Range: bytes ${r.start}-${r.end}/${object.length}\r\n${common}`,
      body: [{ kind: 'object', object, start: r.start, end: r.end + 1 }],
      bodyLength: length,
      site,
    };
  }
  // multipart/byteranges (RFC 9110 section 14.6)
  const body: Segment[] = [];
  let total = 0;
  ranges.forEach((r, i) => {
    const partHead = Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${BOUNDARY}\r\nContent-Type: ${entry.mime}\r\nContent-Range: bytes ${r.start}-${r.end}/${object.length}\r\n\r\n`,
    );
    body.push({ kind: 'buffer', data: partHead }, { kind: 'object', object, start: r.start, end: r.end + 1 });
    total += partHead.length + (r.end - r.start + 1);
  });
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  body.push({ kind: 'buffer', data: tail });
  total += tail.length;
  return {
    status: 206,
    headers: `${contentLines(`multipart/byteranges; boundary=${BOUNDARY}`, total, encoding)}${common}`,
    body,
    bodyLength: total,
    site,
  };
}

function notFound(head: RequestHead, site: Site | undefined, config: PlanConfig): Plan {
  const page = site?.webroot.lookup('/404.html');
  if (site && page?.kind === 'file') {
    // The 404 body is negotiated like any file, but no precondition or Range applies to it.
    const headers = new RequestHeaders();
    headers['accept-encoding'] = head.headers['accept-encoding'] ?? '';
    const plan = planFile({ ...head, headers }, site, page, config, 404);
    if (plan.status === 404) return plan;
  }
  return textPlan(404, '', false, head.method === 'HEAD');
}

/** A redirect with a short text body; `location` must be built from normalised parts. */
export function redirect(location: string, isHead: boolean, status: 301 | 308 = 301): Plan {
  const body = Buffer.from(`${status} ${REASONS[status]}: ${location}\n`);
  return {
    status,
    headers: `Location: ${location}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n${COMMON}`,
    body: isHead ? [] : [{ kind: 'buffer', data: body }],
    bodyLength: isHead ? 0 : body.length,
  };
}

/** Decides the response to one request head. Pure except for reading the (immutable) index. */
export function planResponse(head: RequestHead, sites: SiteLookup, config: PlanConfig): Plan {
  const target = parseTarget(head.target);
  const authority = target.kind === 'path' ? target.authority : undefined;
  // Host (RFC 9112 section 3.2): exactly one valid Host on HTTP/1.1, whatever the method;
  // an absolute-form target's authority wins over it.
  if (head.hostCount > 1 || (head.minor === 1 && head.hostCount === 0 && authority === undefined)) return errorPlan(400, true);
  const host = normaliseHost(authority ?? head.headers.host ?? '');
  if (host === undefined) return errorPlan(400, true);

  const method = head.method;
  if (target.kind === 'bad' && method !== 'CONNECT') return errorPlan(400, true);
  if (method === 'OPTIONS') return { status: 204, headers: `Allow: ${ALLOW}\r\n${COMMON}`, body: [], bodyLength: 0 };
  const isHead = method === 'HEAD';
  // Every other method, CONNECT (authority-form target) included, is not allowed here (RFC 9110 section 15.5.6).
  if (method !== 'GET' && !isHead) return errorPlan(405, false);
  if (target.kind !== 'path') return errorPlan(400, true); // asterisk-form is for OPTIONS only

  const site = sites.lookup(host);
  if (!site) return textPlan(404, '', false, isHead);

  const path = target.path;
  if (path.endsWith('/')) {
    const dir = path === '/' ? '/' : path.slice(0, -1);
    if (site.webroot.lookup(dir)?.kind !== 'directory') return notFound(head, site, config);
    const index = site.webroot.lookup(dir === '/' ? '/index.html' : `${dir}/index.html`);
    if (index?.kind === 'file') return planFile(head, site, index, config);
    if (config.autoindex) return listingPlan(site, dir, path, isHead);
    return notFound(head, site, config);
  }
  const entry: Entry | undefined = site.webroot.lookup(path);
  if (!entry) return notFound(head, site, config);
  if (entry.kind === 'directory') return redirect(`${target.rawPath}/${target.query}`, isHead);
  return planFile(head, site, entry, config);
}

function listingPlan(site: Site, dir: string, shownPath: string, isHead: boolean): Plan {
  const body = Buffer.from(renderListing(shownPath, site.children(dir)));
  return {
    status: 200,
    headers: `Content-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\nCache-Control: no-cache\r\n${COMMON}`,
    body: isHead ? [] : [{ kind: 'buffer', data: body }],
    bodyLength: isHead ? 0 : body.length,
  };
}
