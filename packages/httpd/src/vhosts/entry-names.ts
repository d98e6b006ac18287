/** Entry names are host names, compared like Host values: lower case, no trailing dot. */
export function hostKey(entryName: string): string {
  const lower = entryName.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export interface EntryGroups {
  /** Host key -> the one entry name that gives it. */
  readonly single: ReadonlyMap<string, string>;
  /** Host key -> two or more entry names that give it (`Example.test`, `example.test`, `example.test.`), sorted. */
  readonly ambiguous: ReadonlyMap<string, readonly string[]>;
}

/**
 * Groups the names of a vhosts directory by the host they answer. Names
 * starting with '.' are skipped (temporary names of atomic deploys,
 * `vhosts/.tmp`). Two names for one host are ambiguous: which one a rescan
 * met last used to win, so the host flip-flopped between two webroots.
 */
export function groupEntryNames(names: Iterable<string>): EntryGroups {
  const byKey = new Map<string, string[]>();
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const key = hostKey(name);
    const list = byKey.get(key);
    if (list) list.push(name);
    else byKey.set(key, [name]);
  }
  const single = new Map<string, string>();
  const ambiguous = new Map<string, string[]>();
  for (const [key, list] of byKey) {
    if (list.length === 1) single.set(key, list[0]!);
    else ambiguous.set(key, list.sort());
  }
  return { single, ambiguous };
}
