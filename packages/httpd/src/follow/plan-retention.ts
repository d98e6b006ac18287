/**
 * Which releases a node keeps for a host (pure): the one it serves and the
 * staged one always, then the most recently fetched, up to `keep` in all.
 * The rest are removed: their preview entries at once, their files once
 * nothing reads them.
 */
export function planRetention(fetched: string[], keep: number, pinned: (string | null | undefined)[]): { keep: string[]; remove: string[] } {
  const kept = new Set(pinned.filter((d): d is string => typeof d === 'string'));
  for (let i = fetched.length - 1; i >= 0 && kept.size < keep; i--) kept.add(fetched[i]!);
  return { keep: fetched.filter((d) => kept.has(d)), remove: fetched.filter((d) => !kept.has(d)) };
}
