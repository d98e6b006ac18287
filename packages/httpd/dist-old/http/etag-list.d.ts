/**
 * Entity-tag lists of If-Match / If-None-Match (RFC 9110 sections 8.8.3 and 13.1.1-2):
 * `*`, or a comma-separated list of entity-tags, each `"opaque"` or `W/"opaque"`.
 */
export type EtagList = {
    kind: '*';
} | {
    kind: 'list';
    tags: {
        weak: boolean;
        opaque: string;
    }[];
};
/** Parses a list; members that are not valid entity-tags are skipped (they can match nothing). */
export declare function parseEtagList(value: string): EtagList;
/** Strong comparison (RFC 9110 section 8.8.3.2): both strong and identical. `etag` is our strong tag, quoted. */
export declare function strongMatch(list: EtagList, etag: string): boolean;
/** Weak comparison (RFC 9110 section 8.8.3.2): identical opaque-tags, either or both weak. */
export declare function weakMatch(list: EtagList, etag: string): boolean;
//# sourceMappingURL=etag-list.d.ts.map