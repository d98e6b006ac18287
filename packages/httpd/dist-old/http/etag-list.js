const TAG = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;
/** Parses a list; members that are not valid entity-tags are skipped (they can match nothing). */
export function parseEtagList(value) {
    const v = value.trim();
    if (v === '*')
        return { kind: '*' };
    const tags = [];
    let pos = 0;
    while (pos < v.length) {
        TAG.lastIndex = pos;
        const m = TAG.exec(v);
        if (m) {
            tags.push({ weak: m[1] !== undefined, opaque: m[2] });
            pos = TAG.lastIndex;
        }
        else {
            const comma = v.indexOf(',', pos);
            if (comma === -1)
                break;
            pos = comma + 1;
        }
    }
    return { kind: 'list', tags };
}
/** Strong comparison (RFC 9110 section 8.8.3.2): both strong and identical. `etag` is our strong tag, quoted. */
export function strongMatch(list, etag) {
    return list.kind === '*' || list.tags.some((t) => !t.weak && t.opaque === etag);
}
/** Weak comparison (RFC 9110 section 8.8.3.2): identical opaque-tags, either or both weak. */
export function weakMatch(list, etag) {
    return list.kind === '*' || list.tags.some((t) => t.opaque === etag);
}
//# sourceMappingURL=etag-list.js.map