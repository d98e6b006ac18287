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
export type PreconditionOutcome = {
    kind: 'proceed';
} | {
    kind: 'not-modified';
} | {
    kind: 'failed';
};
/**
 * Evaluates the preconditions of a request for an existing representation in
 * the order of RFC 9110 section 13.2.2. Only for responses that would
 * otherwise be 2xx (the caller does not call this for 404s or redirects).
 */
export declare function evaluatePreconditions(method: string, h: ConditionalHeaders, v: Validators): PreconditionOutcome;
//# sourceMappingURL=preconditions.d.ts.map