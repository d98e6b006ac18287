import { describe, expect, it } from 'vitest';
import type { SignedManifest } from '@webroot/format/manifest';
import { decideManifest, type FollowedState } from '../src/follow/decide-manifest.js';
import { parseDuration, parseFollowSpec, parseListenAddress } from '../src/follow/follow-options.js';
import { planRetention } from '../src/follow/plan-retention.js';

const d = (c: string) => c.repeat(64);
const manifest = (digest: string, created: string, extra: Partial<SignedManifest> = {}): SignedManifest => ({
  host: 'example.com',
  digest,
  size: 10,
  url: `${digest}.webroot`,
  created,
  previous: null,
  rollback: false,
  staged: null,
  signature: `${created}${digest}`,
  ...extra,
});
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';
const T3 = '2026-01-01T00:00:03.000Z';

describe('decideManifest (MANIFEST.md "What a node checks", steps 2 and 3)', () => {
  const at = (served: string[], accepted: SignedManifest | null): FollowedState => ({ served, accepted });
  const table: [string, FollowedState, SignedManifest, ReturnType<typeof decideManifest>['kind'], string?][] = [
    ['a fresh node takes any release', at([], null), manifest(d('a'), T1), 'accept'],
    ['the same manifest again changes nothing', at([d('a')], manifest(d('a'), T1)), manifest(d('a'), T1), 'unchanged'],
    ['a newer manifest with a new release', at([d('a')], manifest(d('a'), T1)), manifest(d('b'), T2), 'accept'],
    ['an older manifest (replay, stale cache) is refused', at([d('b')], manifest(d('b'), T2)), manifest(d('a'), T1), 'refuse', 'stale-manifest'],
    ['an older manifest is refused even when it says rollback', at([d('b')], manifest(d('b'), T2)), manifest(d('a'), T1, { rollback: true }), 'refuse', 'stale-manifest'],
    ['a manifest as old, with another signature, is refused', at([d('a')], manifest(d('a'), T2)), manifest(d('c'), T2), 'refuse', 'stale-manifest'],
    ['going back to a release served before needs rollback', at([d('a'), d('b')], manifest(d('b'), T2)), manifest(d('a'), T3), 'refuse', 'rollback-not-signed'],
    ['going back with a signed rollback is accepted', at([d('a'), d('b')], manifest(d('b'), T2)), manifest(d('a'), T3, { rollback: true }), 'accept'],
    ['a newer manifest for the same release (a stage) is accepted', at([d('a')], manifest(d('a'), T1)), manifest(d('a'), T2, { staged: { digest: d('s'), size: 1, url: 'x' } }), 'accept'],
  ];
  for (const [name, state, candidate, kind, reason] of table) {
    it(name, () => {
      const r = decideManifest(state, candidate);
      expect(r.kind).toBe(kind);
      if (reason) expect(r).toMatchObject({ reason });
    });
  }
  it('switchTo is false when the release stays (a stage only)', () => {
    expect(decideManifest(at([d('a')], manifest(d('a'), T1)), manifest(d('a'), T2))).toEqual({ kind: 'accept', switchTo: false });
    expect(decideManifest(at([d('a')], manifest(d('a'), T1)), manifest(d('b'), T2))).toEqual({ kind: 'accept', switchTo: true });
  });
});

describe('planRetention', () => {
  const table: [string, string[], number, (string | null)[], string[], string[]][] = [
    ['keeps the last N', ['a', 'b', 'c', 'd'], 2, ['d'], ['c', 'd'], ['a', 'b']],
    ['always keeps the served one, even if old', ['a', 'b', 'c', 'd'], 2, ['a'], ['a', 'd'], ['b', 'c']],
    ['and the staged one', ['a', 'b', 'c', 'd'], 2, ['b', 'a'], ['a', 'b'], ['c', 'd']],
    ['keep 1: only the served one', ['a', 'b'], 1, ['b', null], ['b'], ['a']],
    ['fewer than N: nothing removed', ['a'], 5, ['a'], ['a'], []],
  ];
  for (const [name, fetched, keep, pinned, kept, removed] of table) {
    it(name, () => expect(planRetention(fetched, keep, pinned)).toEqual({ keep: kept, remove: removed }));
  }
});

describe('follow options', () => {
  it('parses a full spec', () => {
    expect(parseFollowSpec('host=Example.COM,manifest=http://10.0.0.1/example.com.json,key=k.pub,interval=500ms,timeout=2s,preview=pv')).toEqual({
      kind: 'ok',
      value: { host: 'example.com', manifest: 'http://10.0.0.1/example.com.json', key: 'k.pub', intervalMs: 500, timeoutMs: 2000, previewSuffix: 'pv' },
    });
    expect(parseFollowSpec('host=a.example,manifest=https://r/a.json,key=K,preview=off')).toMatchObject({ value: { intervalMs: 10_000, timeoutMs: 30_000, previewSuffix: null } });
  });
  const bad: [string, RegExp][] = [
    ['manifest=http://x/a.json,key=k', /host is missing; write host=example.com/],
    ['host=a b,manifest=http://x/a.json,key=k', /is not a host name/],
    ['host=a.example,key=k', /manifest is missing/],
    ['host=a.example,manifest=file:///etc/passwd,key=k', /must be an http or https URL/],
    ['host=a.example,manifest=nope,key=k', /is not a URL/],
    ['host=a.example,manifest=http://x/a.json', /key is missing/],
    ['host=a.example,manifest=http://x/a.json,key=k,interval=soon', /interval 'soon' is not a duration; write e\.g\. interval=10s/],
    ['host=a.example,manifest=http://x/a.json,key=k,interval=0', /interval '0' is not a duration/],
    ['host=a.example,manifest=http://x/a.json,key=k,colour=red', /unknown field 'colour'/],
    ['host=a.example,host=b.example', /host given twice/],
    ['host=a.example,oops', /'oops' is not name=value/],
    ['host=a.example,manifest=http://x/a.json,key=k,preview=a_b', /preview 'a_b' must be DNS labels/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${text}`, () => {
      const r = parseFollowSpec(text);
      expect(r.kind).toBe('error');
      expect((r as { message: string }).message).toMatch(message);
    });
  }
  it('durations and listen addresses', () => {
    expect([parseDuration('10s'), parseDuration('500ms'), parseDuration('2m'), parseDuration('1.5'), parseDuration('-1'), parseDuration('1x')]).toEqual([
      10_000, 500, 120_000, 1500, undefined, undefined,
    ]);
    expect(parseListenAddress('9100')).toEqual({ kind: 'ok', value: { host: '127.0.0.1', port: 9100 } });
    expect(parseListenAddress('10.0.0.5:9100')).toEqual({ kind: 'ok', value: { host: '10.0.0.5', port: 9100 } });
    expect(parseListenAddress('[::1]:0')).toEqual({ kind: 'ok', value: { host: '::1', port: 0 } });
    expect(parseListenAddress('x:99999').kind).toBe('error');
    expect(parseListenAddress('a:b').kind).toBe('error');
  });
});
