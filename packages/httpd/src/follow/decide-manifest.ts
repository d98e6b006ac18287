import type { SignedManifest } from '@webroot/format/manifest';

/** Why a node refuses a manifest or a release (MANIFEST.md "What a node checks"): the keys of the refusal counters. */
export const REFUSAL_REASONS = [
  'bad-manifest',
  'wrong-host',
  'bad-signature',
  'stale-manifest',
  'rollback-not-signed',
  'size-mismatch',
  'digest-mismatch',
  'corrupt-release',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type ManifestDecision =
  | { kind: 'unchanged' }
  /** A new release to serve (download it unless kept), and/or a staged one to fetch for its preview. */
  | { kind: 'accept'; switchTo: boolean }
  | { kind: 'refuse'; reason: RefusalReason; detail: string };

export interface FollowedState {
  /** The manifest accepted last, or null on a fresh node. */
  accepted: SignedManifest | null;
  /** Digests served, oldest first (the current one last). */
  served: string[];
}

/**
 * Whether to act on a manifest whose shape and signature are already
 * checked (pure; MANIFEST.md "What a node checks", steps 2 and 3).
 */
export function decideManifest(state: FollowedState, candidate: SignedManifest): ManifestDecision {
  const current = state.accepted;
  if (current) {
    if (candidate.created === current.created && candidate.signature === current.signature) return { kind: 'unchanged' };
    if (Date.parse(candidate.created) <= Date.parse(current.created)) {
      return { kind: 'refuse', reason: 'stale-manifest', detail: `created ${candidate.created} is not later than the accepted manifest's ${current.created}` };
    }
  }
  const currentDigest = state.served[state.served.length - 1];
  const switchTo = candidate.digest !== currentDigest;
  if (switchTo && state.served.includes(candidate.digest) && !candidate.rollback) {
    return { kind: 'refuse', reason: 'rollback-not-signed', detail: `${candidate.digest.slice(0, 12)} was served before; going back needs mkroot publish --rollback` };
  }
  return { kind: 'accept', switchTo };
}
