import { parseHttpDate } from './dates.js';
import { parseEtagList, strongMatch, weakMatch } from './etag-list.js';

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export interface Validators {
  /** Our strong entity-tag, quoted. */
  etag: string;
  /** Last-Modified in seconds since the epoch. */
  lastModified: number;
}

export type PreconditionOutcome = { kind: 'proceed' } | { kind: 'not-modified' } | { kind: 'failed' };

const PROCEED: PreconditionOutcome = { kind: 'proceed' };
const NOT_MODIFIED: PreconditionOutcome = { kind: 'not-modified' };
const FAILED: PreconditionOutcome = { kind: 'failed' };

/**
 * Evaluates the preconditions of a request for an existing representation in
 * the order of RFC 9110 section 13.2.2. Only for responses that would
 * otherwise be 2xx (the caller does not call this for 404s or redirects).
 */
export function evaluatePreconditions(method: string, h: ConditionalHeaders, v: Validators): PreconditionOutcome {
  const getOrHead = method === 'GET' || method === 'HEAD';
  // Step 1: If-Match, strong comparison (13.1.1).
  if (h.ifMatch !== undefined) {
    if (!strongMatch(parseEtagList(h.ifMatch), v.etag)) return FAILED;
  } else if (h.ifUnmodifiedSince !== undefined) {
    // Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored (13.1.4).
    const date = parseHttpDate(h.ifUnmodifiedSince);
    if (date !== undefined && v.lastModified > date) return FAILED;
  }
  // Step 3: If-None-Match, weak comparison (13.1.2).
  if (h.ifNoneMatch !== undefined) {
    // Fast path for the usual revalidation: exactly the tag we sent.
    if (h.ifNoneMatch === v.etag || weakMatch(parseEtagList(h.ifNoneMatch), v.etag)) return getOrHead ? NOT_MODIFIED : FAILED;
  } else if (getOrHead && h.ifModifiedSince !== undefined) {
    // Step 4: If-Modified-Since, only for GET/HEAD without If-None-Match (13.1.3).
    const date = parseHttpDate(h.ifModifiedSince);
    if (date !== undefined && v.lastModified <= date) return NOT_MODIFIED;
  }
  return PROCEED;
}
