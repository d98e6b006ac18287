/**
 * Where each key of a TOML document is written, so a validation problem can
 * name FILE:LINE:COLUMN. smol-toml returns plain values without positions; this
 * scans the source for table headers (`[a.b]`, `[[mount]]`) and `key =` lines,
 * which covers every key of our configuration (no multi-line inline tables).
 */
export interface Position {
  line: number;
  column: number;
}

const BARE = /^[A-Za-z0-9_-]+$/;

function splitKey(text: string): string[] {
  return text.split('.').map((k) => {
    const t = k.trim();
    return BARE.test(t) ? t : t.replace(/^["']|["']$/g, '');
  });
}

/** Positions by path ('mount.0.prefix', 'timeouts.header'); arrays of tables are numbered from 0. */
export function locateKeys(source: string): Map<string, Position> {
  const positions = new Map<string, Position>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  const lines = source.split(/\r?\n/);
  let inMultiline: string | null = null;
  lines.forEach((raw, i) => {
    if (inMultiline !== null) {
      if (raw.includes(inMultiline)) inMultiline = null;
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    const text = raw.trim();
    const line = i + 1;
    if (text === '' || text.startsWith('#')) return;
    const arrayHeader = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(text);
    if (arrayHeader) {
      const path = splitKey(arrayHeader[1]!);
      const key = path.join('.');
      const n = arrayCounts.get(key) ?? 0;
      arrayCounts.set(key, n + 1);
      table = [...path, String(n)];
      if (!positions.has(key)) positions.set(key, { line, column: indent + 1 });
      positions.set(table.join('.'), { line, column: indent + 1 });
      return;
    }
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(text);
    if (header) {
      table = splitKey(header[1]!);
      positions.set(table.join('.'), { line, column: indent + 1 });
      return;
    }
    const assignment = /^((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=(.*)$/.exec(text);
    if (assignment) {
      const path = [...table, ...splitKey(assignment[1]!)];
      positions.set(path.join('.'), { line, column: indent + 1 });
      const value = assignment[2]!;
      for (const quote of ['"""', "'''"]) {
        const count = value.split(quote).length - 1;
        if (count % 2 === 1) inMultiline = quote;
      }
    }
  });
  return positions;
}

/** The position of `path`, or of its nearest located parent. */
export function positionOf(positions: Map<string, Position>, path: readonly (string | number)[]): Position | undefined {
  for (let n = path.length; n > 0; n--) {
    const p = positions.get(path.slice(0, n).join('.'));
    if (p) return p;
  }
  return undefined;
}
