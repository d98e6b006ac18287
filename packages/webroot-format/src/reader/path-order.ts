const isSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdfff;

/**
 * Compares site paths in the order `Webroot.all()` and `children()` list them:
 * SQLite's BINARY order of their UTF-8 bytes, which is code point order.
 * JavaScript's `<` compares UTF-16 units instead, which differs only where an
 * astral character (a surrogate pair) meets one from U+E000 to U+FFFF.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = isSurrogate(x);
    if (sx === isSurrogate(y)) return x - y;
    return sx ? 1 : -1; // a surrogate starts a code point above U+FFFF
  }
  return a.length - b.length;
}
