/** Server preference when q-values tie: smallest output first. */
const PREFERENCE = ['br', 'gzip', 'identity'];
const IMPLICIT_IDENTITY = 0.0005;
const cache = new Map();
function parseQ(params) {
    for (const p of params) {
        const [k, v] = p.split('=').map((s) => s.trim());
        if (k?.toLowerCase() === 'q' && v !== undefined) {
            // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 section 12.4.2)
            if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v))
                return 0;
            return Number(v);
        }
    }
    return 1;
}
function parseAcceptEncoding(header) {
    const hit = cache.get(header);
    if (hit)
        return hit;
    const w = { codings: new Map() };
    for (const item of header.split(',')) {
        const [name, ...params] = item.split(';');
        let coding = name.trim().toLowerCase();
        if (coding === '')
            continue;
        if (coding === 'x-gzip')
            coding = 'gzip'; // RFC 9110 section 8.4.1.3
        const q = parseQ(params);
        if (coding === '*')
            w.star = q;
        else
            w.codings.set(coding, Math.max(q, w.codings.get(coding) ?? 0));
    }
    if (cache.size > 256)
        cache.clear();
    cache.set(header, w);
    return w;
}
/** Picks the representation for `header` among `available` variant codings (identity is always available). */
export function negotiateEncoding(header, available) {
    // No Accept-Encoding: send identity (the safe choice for clients that said nothing).
    if (header === undefined)
        return 'identity';
    const w = parseAcceptEncoding(header);
    const weight = (coding) => {
        const explicit = w.codings.get(coding);
        if (explicit !== undefined)
            return explicit;
        if (w.star !== undefined)
            return w.star;
        // identity is "acceptable by default" unless excluded explicitly or by "*;q=0" (12.5.3), but a
        // client that lists codings wants them: unlisted identity ranks below any listed q > 0
        // (qvalues have three decimals, so 0.0005 is below the smallest one).
        return coding === 'identity' ? IMPLICIT_IDENTITY : 0;
    };
    let best = 'none';
    let bestQ = 0;
    for (const coding of PREFERENCE) {
        if (coding !== 'identity' && !available.includes(coding))
            continue;
        const q = weight(coding);
        if (q > bestQ) {
            best = coding;
            bestQ = q;
        }
    }
    return best;
}
//# sourceMappingURL=negotiate.js.map