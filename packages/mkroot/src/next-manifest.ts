import type { ManifestFields, SignedManifest, StagedRelease } from '@webroot/format/manifest';

/** What a publish asks for. */
export type PublishAction =
  | { kind: 'publish'; release: StagedRelease }
  | { kind: 'stage'; release: StagedRelease }
  | { kind: 'promote'; release: StagedRelease }
  | { kind: 'rollback'; release: StagedRelease };

export type NextManifest = { kind: 'ok'; fields: ManifestFields } | { kind: 'refused'; reason: 'not-published' | 'already-current' };

/** A manifest's `created`: now, but always later than the one it replaces (MANIFEST.md), even with a clock set back. */
export function nextCreated(current: SignedManifest | null, nowMs: number): string {
  const floor = current ? Date.parse(current.created) + 1 : 0;
  return new Date(Math.max(nowMs, floor)).toISOString();
}

/**
 * The fields of the manifest that replaces `current` for `action` (pure).
 * publish: serve the release (a staged one is dropped). stage: keep serving,
 * offer the release at its preview host. promote: serve a release already in
 * the channel. rollback: the same, marked so nodes may go back to it (also
 * for the release the manifest names, when it was promoted without the mark).
 */
export function nextManifest(host: string, current: SignedManifest | null, action: PublishAction, nowMs: number): NextManifest {
  const created = nextCreated(current, nowMs);
  const r = action.release;
  if (action.kind === 'publish') {
    const previous = current ? (current.digest === r.digest ? current.previous : current.digest) : null;
    return { kind: 'ok', fields: { host, digest: r.digest, size: r.size, url: r.url, created, previous, rollback: false, staged: null } };
  }
  if (!current) return { kind: 'refused', reason: 'not-published' };
  if (action.kind === 'stage') {
    if (current.digest === r.digest) return { kind: 'refused', reason: 'already-current' };
    return { kind: 'ok', fields: { ...withoutSignature(current), created, rollback: false, staged: r } };
  }
  const rollback = action.kind === 'rollback';
  // A rollback may re-sign the release the manifest already names: after a --promote of an old release, which nodes refuse.
  const same = current.digest === r.digest;
  if (same && (!rollback || current.rollback)) return { kind: 'refused', reason: 'already-current' };
  const staged = current.staged && current.staged.digest !== r.digest ? current.staged : null;
  return {
    kind: 'ok',
    fields: { host, digest: r.digest, size: r.size, url: r.url, created, previous: same ? current.previous : current.digest, rollback, staged },
  };
}

function withoutSignature(m: SignedManifest): ManifestFields {
  const { signature: _, ...fields } = m;
  return fields;
}
