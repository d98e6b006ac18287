import fs from 'node:fs';
import { isDigest, MANIFEST_FORMAT, parseManifest, serializeManifest, writeFileAtomically } from '@webroot/format/manifest';
import type { FollowedState } from './decide-manifest.js';

/** What a follower keeps across restarts, in RELEASES/<host>/state.json. */
export interface SavedState extends FollowedState {
  /** Releases on disk, in the order they were fetched. */
  fetched: string[];
  /** ETag of the manifest response last handled (accepted, unchanged or refused), for If-None-Match. */
  etag: string | null;
}

export const EMPTY_STATE: SavedState = { accepted: null, served: [], fetched: [], etag: null };

/**
 * Reads a saved state: missing is a fresh start; anything malformed throws
 * (the caller logs it and starts fresh). Digests are checked before they
 * name a file; fetched releases whose file is gone are dropped.
 */
export function loadFollowState(file: string, releaseExists: (digest: string) => boolean): SavedState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { ...EMPTY_STATE };
  }
  const s = JSON.parse(text) as Partial<SavedState>;
  const digests = (v: unknown) => (Array.isArray(v) ? v.filter(isDigest) : []);
  return {
    accepted: s.accepted ? parseManifest(JSON.stringify({ ...s.accepted, format: MANIFEST_FORMAT }), file) : null,
    served: digests(s.served),
    fetched: digests(s.fetched).filter(releaseExists),
    etag: typeof s.etag === 'string' ? s.etag : null,
  };
}

export async function saveFollowState(file: string, state: SavedState): Promise<void> {
  const accepted = state.accepted ? JSON.parse(serializeManifest(state.accepted)) : null;
  await writeFileAtomically(file, `${JSON.stringify({ ...state, accepted }, null, 2)}\n`);
}
