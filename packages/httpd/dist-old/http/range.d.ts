/**
 * Range requests (RFC 9110 section 14): parsing `Range: bytes=...` against a
 * representation length, with coalescing so a request can never make the
 * server send more than the representation.
 */
export interface ByteRange {
    /** First byte, inclusive. */
    start: number;
    /** Last byte, inclusive (as in Content-Range). */
    end: number;
}
export type RangeOutcome = 
/** No usable Range header: send the whole representation (200). */
{
    kind: 'ignore';
    reason: 'absent' | 'invalid' | 'not-bytes' | 'too-many';
}
/** 206 with these ranges (sorted, non-overlapping when there are several). */
 | {
    kind: 'ranges';
    ranges: ByteRange[];
}
/** 416 with `Content-Range: bytes * /length`. */
 | {
    kind: 'unsatisfiable';
};
/** More range-specs than this are ignored (RFC 9110 section 14.2 allows ignoring many small ranges). */
export declare const MAX_RANGES = 32;
/** Ranges closer than this are merged: a separate part would cost more in part headers. */
export declare const COALESCE_GAP = 80;
/** Parses a Range header for a representation of `length` bytes. */
export declare function parseRange(header: string | undefined, length: number): RangeOutcome;
/** Sorts and merges overlapping or nearly adjacent ranges (RFC 9110 section 14.2 permits this). */
export declare function coalesce(ranges: ByteRange[]): ByteRange[];
//# sourceMappingURL=range.d.ts.map