/**
 * Entity-tag lists of If-Match / If-None-Match (RFC 9110 sections 8.8.3 and 13.1.1-2):
 * `*`, or a comma-separated list of entity-tags, each `"opaque"` or `W/"opaque"`.
 */
export type EtagList = { kind: '*' } | { kind: 'list'; tags: { weak: boolean; opaque: string }[] };

const TAG = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/y;

/** Parses a list; members that are not valid entity-tags are skipped (they can match nothing). */
export function parseEtagList(value: string): EtagList {
  const v = value.trim();
  if (v === '*') return { kind: '*' };
  const tags: { weak: boolean; opaque: string }[] = [];
  let pos = 0;
  while (pos < v.length) {
    TAG.lastIndex = pos;
    const m = TAG.exec(v);
    if (m) {
      tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
      pos = TAG.lastIndex;
    } else {
      const comma = v.indexOf(',', pos);
      if (comma === -1) break;
      pos = comma + 1;
    }
  }
  return { kind: 'list', tags };
}

/** Strong comparison (RFC 9110 section 8.8.3.2): both strong and identical. `etag` is our strong tag, quoted. */
export function strongMatch(list: EtagList, etag: string): boolean {
  return list.kind === '*' || list.tags.some((t) => !t.weak && t.opaque === etag);
}

/** Weak comparison (RFC 9110 section 8.8.3.2): identical opaque-tags, either or both weak. */
export function weakMatch(list: EtagList, etag: string): boolean {
  return list.kind === '*' || list.tags.some((t) => t.opaque === etag);
}
