import type { Site, UnavailableSite } from './site.js';

/** What a request path is, relative to the mounts of its host. */
export type MountMatch =
  /** Inside the mount with `prefix`: `path` is what the mounted webroot sees ('/' + the rest). */
  | { kind: 'inside'; prefix: string; path: string; site: Site | UnavailableSite | undefined }
  /** The prefix without its trailing slash: redirect to `prefix`. */
  | { kind: 'add-slash'; prefix: string };

/**
 * The mount a normalised path falls in: the longest prefix that the path
 * starts with (prefixes end in '/', so '/docs/' never matches '/docsx').
 * `prefixes` must be sorted longest first (see sortPrefixes).
 */
export function matchMount(prefixes: readonly string[], path: string): { kind: 'inside'; prefix: string; path: string } | { kind: 'add-slash'; prefix: string } | undefined {
  for (const prefix of prefixes) {
    if (path.startsWith(prefix)) return { kind: 'inside', prefix, path: path.slice(prefix.length - 1) };
    if (path.length === prefix.length - 1 && prefix.startsWith(path)) return { kind: 'add-slash', prefix };
  }
  return undefined;
}

/** Longest first, so the first match is the longest. */
export function sortPrefixes(prefixes: Iterable<string>): string[] {
  return [...prefixes].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}
