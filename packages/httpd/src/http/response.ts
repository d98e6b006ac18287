/**
 * The protocol-neutral request and response of the pipeline (see DESIGN.md,
 * "httpd"): resolve (request -> Resource), represent (Resource + request ->
 * HttpResponse), serialize (HTTP/1.1 bytes in server/, HTTP/2 headers in h2/).
 * Nothing here knows a wire format.
 */
import type { Encoding, Entry, FileEntry, StoredObject } from '@webroot/format';
import type { Site } from '../vhosts/site.js';

/** What resolve and represent read of a request, whatever protocol carried it. */
export interface RequestInfo {
  /** Upper-case method token as sent. */
  method: string;
  /** The request-target as sent (HTTP/1.1) or `:path` (HTTP/2): never echoed into a header. */
  target: string;
  /** Host value: the absolute-form authority, `:authority`, or Host; undefined when none was sent. */
  authority: string | undefined;
  /** How many Host fields the request carried (HTTP/1.1 needs exactly one). */
  hostCount: number;
  /** HTTP/1.x minor version, or 1 for HTTP/2 (which always carries an authority). */
  minor: number;
  /** 'https' on a TLS listener, else 'http'. */
  scheme: 'http' | 'https';
  acceptEncoding: string | undefined;
  range: string | undefined;
  ifRange: string | undefined;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  ifUnmodifiedSince: string | undefined;
}

/** Bytes to send: literal bytes, or a range [start, end) of a stored object. */
export type Segment =
  | { kind: 'buffer'; data: Buffer }
  | { kind: 'object'; object: StoredObject; start: number; end: number };

/** One extra response field (from the site's rules, HSTS, Retry-After...), name in canonical case. */
export type Field = readonly [name: string, value: string];

/** What resolve found for a request: a decision, not bytes. */
export type Resource =
  /** A stored file, served with `status` (200, or the status of a rule: 404, 410...). */
  | { kind: 'file'; site: Site; entry: FileEntry; status: number; extra?: readonly Field[] }
  /**
   * A redirect; `location` is built from the normalised path, never from the raw target.
   * `memoised`: the site keeps this object for its request (Site.redirects), so serializers may cache its head.
   */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string; site?: Site; extra?: readonly Field[]; memoised?: boolean }
  | { kind: 'listing'; site: Site; dir: string; shownPath: string; entries: readonly Entry[]; extra?: readonly Field[] }
  /** Nothing at the path; `page` is the site's 404 page when it has one. */
  | { kind: 'not-found'; site?: Site; page?: FileEntry; extra?: readonly Field[] }
  | { kind: 'options' }
  /** A short body decided before the site (the ACME HTTP-01 answer, acme/worker-acme.ts). */
  | { kind: 'text'; status: 200; text: string; contentType: string }
  /** A plain error with a short text body: 400, 405, 408, 503... `close` ends the connection after it. */
  | { kind: 'error'; status: number; close?: boolean; extra?: readonly Field[] };

/**
 * A structured response, as nginx's headers_out: well-known fields as typed
 * members (so 304 and 206 are edits of fields, and each serializer orders and
 * spells them its own way), `extra` for the rest. `body` is empty for HEAD,
 * 204 and 304; `contentLength` is what a GET would carry.
 */
export interface HttpResponse {
  status: number;
  contentType: string | undefined;
  /** Content-Length; undefined for 204 and 304, which carry none. */
  contentLength: number | undefined;
  contentEncoding: Encoding | undefined;
  contentRange: string | undefined;
  etag: string | undefined;
  /** Seconds since the epoch. */
  lastModified: number | undefined;
  cacheControl: string | undefined;
  vary: string | undefined;
  acceptRanges: boolean;
  location: string | undefined;
  allow: string | undefined;
  extra: readonly Field[];
  body: Segment[];
  /** Bytes of `body` (0 for HEAD). */
  bodyLength: number;
  /** The site whose webroot `body` reads from: held open until the response ends. */
  site: Site | undefined;
  /** Close the connection after this response (HTTP/1.1; an HTTP/2 serializer ignores it). */
  close: boolean;
  /**
   * Set when every field is a function of one stored representation and the
   * configuration (a 200 or a 304 of a file), or of one redirect resource (its
   * status and Location: the resource a site memoises per request path, see
   * Site.redirects): serializers may cache their output under (object, kind)
   * or the resource, checked against `extra` and `cacheControl`.
   */
  cacheKey: { object: StoredObject; kind: 'whole' | 'not-modified' } | { kind: 'redirect'; resource: Resource } | undefined;
}
