import { describe, expect, it } from 'vitest';
import type { SignedManifest } from '@webroot/format/manifest';
import { nextCreated, nextManifest, type PublishAction } from '../src/next-manifest.js';

const rel = (c: string) => ({ digest: c.repeat(64), size: 10, url: `${c.repeat(64)}.webroot` });
const A = rel('a');
const B = rel('b');
const S = rel('s');
const NOW = Date.parse('2026-01-01T00:00:10.000Z');
const current = (extra: Partial<SignedManifest> = {}): SignedManifest => ({
  host: 'example.com',
  ...A,
  created: '2026-01-01T00:00:05.000Z',
  previous: null,
  rollback: false,
  staged: null,
  signature: 'x',
  ...extra,
});

describe('nextManifest (MANIFEST.md fields)', () => {
  const table: [string, SignedManifest | null, PublishAction, unknown][] = [
    ['first publish', null, { kind: 'publish', release: A }, { kind: 'ok', fields: { digest: A.digest, previous: null, rollback: false, staged: null } }],
    ['publish chains previous and drops a staged release', current({ staged: S }), { kind: 'publish', release: B }, { kind: 'ok', fields: { digest: B.digest, previous: A.digest, staged: null } }],
    ['publishing the same release again keeps its previous', current({ previous: B.digest }), { kind: 'publish', release: A }, { kind: 'ok', fields: { digest: A.digest, previous: B.digest } }],
    ['stage keeps the release and adds staged', current(), { kind: 'stage', release: S }, { kind: 'ok', fields: { digest: A.digest, staged: S, rollback: false } }],
    ['stage with nothing published', null, { kind: 'stage', release: S }, { kind: 'refused', reason: 'not-published' }],
    ['stage of the served release', current(), { kind: 'stage', release: A }, { kind: 'refused', reason: 'already-current' }],
    ['promote the staged release', current({ staged: S }), { kind: 'promote', release: S }, { kind: 'ok', fields: { digest: S.digest, previous: A.digest, staged: null, rollback: false } }],
    ['promote another keeps the staged one', current({ staged: S }), { kind: 'promote', release: B }, { kind: 'ok', fields: { digest: B.digest, staged: S } }],
    ['promote of the served release', current(), { kind: 'promote', release: A }, { kind: 'refused', reason: 'already-current' }],
    ['rollback marks it', current(), { kind: 'rollback', release: B }, { kind: 'ok', fields: { digest: B.digest, previous: A.digest, rollback: true } }],
    ['rollback re-signs a promoted old release', current({ previous: B.digest }), { kind: 'rollback', release: A }, { kind: 'ok', fields: { digest: A.digest, previous: B.digest, rollback: true } }],
    ['rollback twice to the same', current({ rollback: true }), { kind: 'rollback', release: A }, { kind: 'refused', reason: 'already-current' }],
    ['rollback with nothing published', null, { kind: 'rollback', release: A }, { kind: 'refused', reason: 'not-published' }],
  ];
  for (const [name, cur, action, expected] of table) {
    it(name, () => expect(nextManifest('example.com', cur, action, NOW)).toMatchObject(expected as object));
  }
  it('created is now, but always later than the manifest it replaces, even with the clock set back', () => {
    expect(nextCreated(null, NOW)).toBe('2026-01-01T00:00:10.000Z');
    expect(nextCreated(current({ created: '2026-01-01T00:00:20.000Z' }), NOW)).toBe('2026-01-01T00:00:20.001Z');
  });
});
