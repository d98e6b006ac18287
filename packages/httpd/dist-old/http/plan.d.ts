import type { StoredObject } from '@webroot/format';
import type { Site } from '../vhosts/site.js';
import type { RequestHead } from './parse-request.js';
/** Bytes to send: literal bytes, or a range [start, end) of a stored object. */
export type Segment = {
    kind: 'buffer';
    data: Buffer;
} | {
    kind: 'object';
    object: StoredObject;
    start: number;
    end: number;
};
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
export declare const ALLOW = "GET, HEAD, OPTIONS";
/** Boundary for multipart/byteranges; random per process so it cannot be guessed into content. */
export declare const BOUNDARY: string;
/** A plain error response (also used by the connection for 400/408/414/431/505). */
export declare function errorPlan(status: number, close?: boolean, head?: boolean): Plan;
/** Decides the response to one request head. Pure except for reading the (immutable) index. */
export declare function planResponse(head: RequestHead, sites: SiteLookup, config: PlanConfig): Plan;
//# sourceMappingURL=plan.d.ts.map