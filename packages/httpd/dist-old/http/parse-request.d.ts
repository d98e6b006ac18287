/**
 * Incremental HTTP/1.1 request-head parser (RFC 9112 sections 2-3, 5-6).
 * Pure: bytes in, a decision out. Bodies are never parsed: the head says how
 * long one is, and the connection skips it or closes.
 */
export interface RequestHead {
    method: string;
    target: string;
    /** Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
    minor: number;
    /** Field values by lower-cased name; repeated fields joined with ", " (RFC 9110 section 5.3). */
    headers: Record<string, string>;
    hostCount: number;
    /** Declared body length; 0 when there is none. */
    contentLength: number;
    /** A Transfer-Encoding was sent: the body's length is unknown to us, so the connection must close. */
    chunked: boolean;
    /** The connection may stay open: HTTP/1.1 without "close", or HTTP/1.0 that asked for keep-alive. */
    keepAlive: boolean;
}
export type ParseOutcome = {
    kind: 'incomplete';
} | {
    kind: 'head';
    head: RequestHead;
    end: number;
} | {
    kind: 'error';
    status: 400 | 414 | 431 | 505 | 501;
    reason: string;
};
export interface ParseLimits {
    /** Longest request-line, in bytes (longer: 414). */
    maxRequestLine: number;
    /** Largest header section after the request-line, in bytes (larger: 431). */
    maxHeaderBytes: number;
    /** Most header fields (more: 431). */
    maxHeaders: number;
}
export declare const DEFAULT_LIMITS: ParseLimits;
/** Parses one request head starting at `start`; `end` in the result is where the next bytes begin. */
export declare function parseRequestHead(buf: Buffer, start: number, limits?: ParseLimits): ParseOutcome;
//# sourceMappingURL=parse-request.d.ts.map