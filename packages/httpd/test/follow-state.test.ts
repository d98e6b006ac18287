import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signManifest } from '@webroot/format/manifest';
import { loadFollowState, saveFollowState } from '../src/follow/follow-state.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'follow-state-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const D = (c: string) => c.repeat(64);

describe('follow state (RELEASES/<host>/state.json)', () => {
  it('round-trips, and a missing file is a fresh start', async () => {
    const file = path.join(dir, 'state.json');
    expect(loadFollowState(file, () => true)).toEqual({ accepted: null, served: [], fetched: [], etag: null });
    const accepted = signManifest(
      { host: 'example.com', digest: D('a'), size: 1, url: 'a.webroot', created: '2026-01-01T00:00:00.000Z', previous: null, rollback: false, staged: null },
      crypto.generateKeyPairSync('ed25519').privateKey,
    );
    await saveFollowState(file, { accepted, served: [D('a')], fetched: [D('a'), D('b')], etag: '"x"' });
    expect(loadFollowState(file, (d) => d === D('a'))).toEqual({ accepted, served: [D('a')], fetched: [D('a')], etag: '"x"' });
  });

  it('only digests name files: a tampered entry like ../../etc/passwd is dropped', () => {
    const file = path.join(dir, 'tampered.json');
    fs.writeFileSync(file, JSON.stringify({ accepted: null, served: ['../../x', D('c'), 7], fetched: ['../../etc/passwd', D('c')], etag: 5 }));
    const seen: string[] = [];
    expect(loadFollowState(file, (d) => (seen.push(d), true))).toEqual({ accepted: null, served: [D('c')], fetched: [D('c')], etag: null });
    expect(seen).toEqual([D('c')]);
  });

  it('malformed JSON or a malformed accepted manifest throws (the follower logs it and starts fresh)', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{');
    expect(() => loadFollowState(bad, () => true)).toThrow();
    fs.writeFileSync(bad, JSON.stringify({ accepted: { host: 'x' } }));
    expect(() => loadFollowState(bad, () => true)).toThrow(/not a valid release manifest/);
  });
});
