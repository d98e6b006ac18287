/**
 * Edit distance with adjacent transpositions (optimal string alignment), the
 * measure commander uses for its option suggestions: `biuld` is one edit from
 * `build`.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The command `word` was probably meant to be, or undefined when none is
 * close: one edit (a transposition counts as one). Two edits took site
 * directory names for commands (`public` is two from `publish`). Ties go to
 * the command listed first.
 */
export function suggestCommand(word: string, commands: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of commands) {
    const dist = editDistance(w, c);
    if (dist === 0) return c;
    if (dist === 1 && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}
