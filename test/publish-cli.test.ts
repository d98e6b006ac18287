import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, verifyManifest, loadPublicKey, digestFile } from '@webroot/format/manifest';
import { MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { startChannelServer, snapshot } from './helpers/channel-server.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const mkroot = (args: string[]) => runNode(MKROOT_BIN, args, { timeoutMs: 30_000 });

async function site(dir: string, name: string, text: string): Promise<string> {
  const src = writeTree(path.join(dir, `src-${name}`), { 'index.html': `<!doctype html><p>${text}</p>\n` });
  const out = path.join(dir, name);
  const r = await mkroot(['build', '-q', src, out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

async function keypair(dir: string, name = 'release.key'): Promise<string> {
  const key = path.join(dir, name);
  const r = await mkroot(['keygen', key]);
  expect(r.code, r.stderr).toBe(0);
  return key;
}

function manifestOf(channel: string, host = 'example.com') {
  return parseManifest(fs.readFileSync(path.join(channel, `${host}.json`), 'utf8'), host);
}

/** One line on stderr, naming `what`, exit code non-zero, and nothing else. */
function expectOneLineError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mkroot: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('mkroot keygen', () => {
  it('writes an Ed25519 key pair, the private key with mode 0600, and prints the public key; refuses to overwrite', async () => {
    const dir = tmpDir('keygen-');
    const key = path.join(dir, 'k');
    const r = await mkroot(['keygen', key]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const b64 = /public key: (\S+)/.exec(r.stdout)![1]!;
    expect(loadPublicKey(b64).equals(loadPublicKey(`${key}.pub`))).toBe(true);
    const before = snapshot(dir);
    expectOneLineError(await mkroot(['keygen', key]), /k: already exists; give another name, or --force/);
    expect(snapshot(dir)).toEqual(before);
    expect((await mkroot(['keygen', key, '--force'])).code).toBe(0);
    expect(snapshot(dir)).not.toEqual(before);
  });
});

describe('mkroot publish to a directory (MANIFEST.md)', () => {
  it('writes <digest>.webroot and a signed <host>.json; the next publish chains previous; stage, promote and rollback', { timeout: 60_000 }, async () => {
    const dir = tmpDir('publish-');
    const key = await keypair(dir);
    const channel = fs.mkdirSync(path.join(dir, 'chan'), { recursive: true })!;
    const v1 = await site(dir, 'example.com.webroot', 'one');
    const v2 = await site(dir, 'v2.webroot', 'two');
    const v3 = await site(dir, 'v3.webroot', 'three');
    const [d1, d2, d3] = [await digestFile(v1), await digestFile(v2), await digestFile(v3)];
    const pub = loadPublicKey(`${key}.pub`);

    const r1 = await mkroot(['publish', v1, '--channel', channel, '--key', key]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toContain(`example.com: published ${d1.slice(0, 12)}`);
    expect(fs.readdirSync(channel).sort()).toEqual([`${d1}.webroot`, 'example.com.json']);
    expect(fs.readFileSync(path.join(channel, `${d1}.webroot`)).equals(fs.readFileSync(v1))).toBe(true);
    const m1 = manifestOf(channel);
    expect(m1).toMatchObject({ host: 'example.com', digest: d1, size: fs.statSync(v1).size, url: `${d1}.webroot`, previous: null, rollback: false, staged: null });
    expect(verifyManifest(m1, pub)).toBe(true);

    expect((await mkroot(['publish', v2, '--host', 'Example.COM', '--channel', channel, '--key', key])).code).toBe(0);
    const m2 = manifestOf(channel);
    expect(m2).toMatchObject({ digest: d2, previous: d1, rollback: false });
    expect(Date.parse(m2.created)).toBeGreaterThan(Date.parse(m1.created));

    const st = await mkroot(['publish', v3, '--stage', '--host', 'example.com', '--channel', channel, '--key', key]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(`preview: http://${d3.slice(0, 12)}.preview.example.com/`);
    expect(manifestOf(channel)).toMatchObject({ digest: d2, previous: d1, staged: { digest: d3, url: `${d3}.webroot` } });

    expect((await mkroot(['publish', '--promote', d3.slice(0, 12), '--host', 'example.com', '--channel', channel, '--key', key])).code).toBe(0);
    expect(manifestOf(channel)).toMatchObject({ digest: d3, previous: d2, rollback: false, staged: null });

    const rb = await mkroot(['publish', '--rollback', d1, '--host', 'example.com', '--channel', channel, '--key', key]);
    expect(rb.code, rb.stderr).toBe(0);
    const m5 = manifestOf(channel);
    expect(m5).toMatchObject({ digest: d1, previous: d3, rollback: true });
    expect(verifyManifest(m5, pub)).toBe(true);
    expect(fs.readdirSync(channel).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('bad input: one line naming the file and what to do, exit non-zero, nothing written to the channel', { timeout: 60_000 }, async () => {
    const dir = tmpDir('publish-bad-');
    const key = await keypair(dir);
    const otherKey = await keypair(dir, 'other.key');
    const channel = path.join(dir, 'chan');
    fs.mkdirSync(channel);
    const good = await site(dir, 'example.com.webroot', 'good');
    const truncated = path.join(dir, 'cut.webroot');
    fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, 3000));
    const corrupt = path.join(dir, 'corrupt.webroot');
    const bytes = fs.readFileSync(good);
    bytes[bytes.length - 3] ^= 0xff;
    fs.writeFileSync(corrupt, bytes);
    expect((await mkroot(['publish', good, '--channel', channel, '--key', key])).code).toBe(0);
    const before = snapshot(channel);
    const p = (args: string[]) => mkroot(['publish', ...args]);
    const cases: [string, string[], RegExp][] = [
      ['a missing key', [good, '--channel', channel, '--key', path.join(dir, 'nokey')], /nokey: no such private key file; make one with mkroot keygen/],
      ['the public key instead of the private one', [good, '--channel', channel, '--key', `${key}.pub`], /release\.key\.pub: not a PEM private key/],
      ['an unreadable webroot', [path.join(dir, 'none.webroot'), '--host', 'example.com', '--channel', channel, '--key', key], /none\.webroot/],
      ['a truncated webroot', [truncated, '--host', 'example.com', '--channel', channel, '--key', key], /cut\.webroot/],
      ['a corrupt webroot', [corrupt, '--host', 'example.com', '--channel', channel, '--key', key], /corrupt\.webroot/],
      ['a channel that is not there', [good, '--channel', path.join(dir, 'nochan'), '--key', key], /nochan: no such channel directory; create it/],
      ['a channel that is a file', [good, '--channel', good, '--key', key], /not a directory; --channel takes a directory or an http\(s\) URL/],
      ['a manifest signed by another key', [good, '--channel', channel, '--key', otherKey], /example\.com\.json: signed by another key than .*other\.key; publish with the key that signed it/],
      ['a bad host', [good, '--host', 'not a host', '--channel', channel, '--key', key], /'not a host' is not a host name; give --host example\.com/],
      ['promote of an unknown digest', ['--promote', 'f'.repeat(64), '--host', 'example.com', '--channel', channel, '--key', key], /has no intact f{64}\.webroot; publish that webroot again/],
      ['two modes at once', [good, '--stage', '--rollback', 'x', '--channel', channel, '--key', key], /exclude each other/],
      ['promote of what it serves', ['--promote', (await digestFile(good)).slice(0, 12), '--host', 'example.com', '--channel', channel, '--key', key], /already the release example\.com serves; nothing to promote/],
      ['stage on a new host', [good, '--stage', '--host', 'new.example', '--channel', channel, '--key', key], /nothing is published for new\.example yet; publish a release first/],
    ];
    // Concurrently (none of them may write): each gives its one line, and the channel is as it was.
    const results = await Promise.all(cases.map(([, args]) => p(args)));
    cases.forEach(([, , pattern], i) => expectOneLineError(results[i]!, pattern));
    expect(snapshot(channel)).toEqual(before);
    fs.writeFileSync(path.join(channel, 'example.com.json'), '{"format": "webroot-manifest/1", ');
    const broken = snapshot(channel);
    expectOneLineError(await p([good, '--channel', channel, '--key', key]), /example\.com\.json: not a valid release manifest: not JSON .*; fix it, or remove it/);
    expect(snapshot(channel)).toEqual(broken);
  });
});

describe('mkroot publish to an HTTP channel (PUT)', () => {
  it('PUTs the release, then the manifest; a server without PUT is one clear line', async () => {
    const dir = tmpDir('publish-http-');
    const key = await keypair(dir);
    const channel = path.join(dir, 'chan');
    fs.mkdirSync(channel);
    const v1 = await site(dir, 'example.com.webroot', 'over http');
    const d1 = await digestFile(v1);
    const server = await startChannelServer(channel, { acceptPut: true });
    try {
      const r = await mkroot(['publish', v1, '--channel', server.url, '--key', key]);
      expect(r.code, r.stderr).toBe(0);
      expect(server.log.filter((l) => l.method === 'PUT').map((l) => l.name)).toEqual([`${d1}.webroot`, 'example.com.json']);
      expect(fs.readFileSync(path.join(channel, `${d1}.webroot`)).equals(fs.readFileSync(v1))).toBe(true);
      expect(manifestOf(channel)).toMatchObject({ digest: d1, previous: null });
      // Again: the release is there (HEAD says its size), so only the manifest is PUT.
      server.log.length = 0;
      expect((await mkroot(['publish', v1, '--channel', server.url, '--key', key])).code).toBe(0);
      expect(server.log.filter((l) => l.method === 'PUT').map((l) => l.name)).toEqual(['example.com.json']);
    } finally {
      await server.close();
    }
    const readOnly = await startChannelServer(channel, { acceptPut: false });
    try {
      const v2 = await site(dir, 'v2.webroot', 'refused');
      const before = snapshot(channel);
      expectOneLineError(
        await mkroot(['publish', v2, '--host', 'example.com', '--channel', readOnly.url, '--key', key]),
        /PUT http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{64}\.webroot: 405 Method Not Allowed; the channel server must accept PUT/,
      );
      expect(snapshot(channel)).toEqual(before);
    } finally {
      await readOnly.close();
    }
  });
});
