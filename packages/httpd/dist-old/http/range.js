/**
 * Range requests (RFC 9110 section 14): parsing `Range: bytes=...` against a
 * representation length, with coalescing so a request can never make the
 * server send more than the representation.
 */
/** More range-specs than this are ignored (RFC 9110 section 14.2 allows ignoring many small ranges). */
export const MAX_RANGES = 32;
/** Ranges closer than this are merged: a separate part would cost more in part headers. */
export const COALESCE_GAP = 80;
const SPEC = /^(\d*)[ \t]*-[ \t]*(\d*)$/;
/** Parses a Range header for a representation of `length` bytes. */
export function parseRange(header, length) {
    if (header === undefined)
        return { kind: 'ignore', reason: 'absent' };
    const eq = header.indexOf('=');
    if (eq === -1)
        return { kind: 'ignore', reason: 'invalid' };
    // The range unit is case-insensitive (RFC 9110 section 14.1).
    if (header.slice(0, eq).trim().toLowerCase() !== 'bytes')
        return { kind: 'ignore', reason: 'not-bytes' };
    const specs = header
        .slice(eq + 1)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''); // empty list elements are allowed (RFC 9110 section 5.6.1)
    if (specs.length === 0)
        return { kind: 'ignore', reason: 'invalid' };
    if (specs.length > MAX_RANGES)
        return { kind: 'ignore', reason: 'too-many' };
    const satisfiable = [];
    for (const spec of specs) {
        const m = SPEC.exec(spec);
        if (!m || (m[1] === '' && m[2] === ''))
            return { kind: 'ignore', reason: 'invalid' };
        if (m[1] === '') {
            // suffix-range: the last N bytes (14.1.1); N = 0 is unsatisfiable.
            const n = Number(m[2]);
            if (n > 0 && length > 0)
                satisfiable.push({ start: Math.max(0, length - n), end: length - 1 });
            continue;
        }
        const first = Number(m[1]);
        const last = m[2] === '' ? Infinity : Number(m[2]);
        if (last < first)
            return { kind: 'ignore', reason: 'invalid' }; // 14.1.1: invalid if last-pos < first-pos
        if (first < length)
            satisfiable.push({ start: first, end: Math.min(last, length - 1) });
    }
    if (satisfiable.length === 0)
        return { kind: 'unsatisfiable' };
    return { kind: 'ranges', ranges: coalesce(satisfiable) };
}
/** Sorts and merges overlapping or nearly adjacent ranges (RFC 9110 section 14.2 permits this). */
export function coalesce(ranges) {
    if (ranges.length === 1)
        return ranges;
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    const out = [{ ...sorted[0] }];
    for (const r of sorted.slice(1)) {
        const last = out[out.length - 1];
        if (r.start <= last.end + 1 + COALESCE_GAP)
            last.end = Math.max(last.end, r.end);
        else
            out.push({ ...r });
    }
    return out;
}
//# sourceMappingURL=range.js.map