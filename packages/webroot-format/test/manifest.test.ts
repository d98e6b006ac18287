import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  digestFile,
  generateKeyPair,
  loadPrivateKey,
  loadPublicKey,
  parseManifest,
  serializeManifest,
  signManifest,
  verifyManifest,
  type ManifestFields,
} from '../src/manifest/index.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const fields: ManifestFields = {
  host: 'example.com',
  digest: D1,
  size: 1234,
  url: `${D1}.webroot`,
  created: '2026-01-31T12:00:00.000Z',
  previous: D2,
  rollback: false,
  staged: null,
};

describe('release manifest (MANIFEST.md)', () => {
  it('MANIFEST.md "The signed bytes": the exact 11 LF-terminated lines', () => {
    expect(canonicalBytes(fields).toString('utf8')).toBe(
      `webroot-manifest/1\nhost:example.com\ndigest:${D1}\nsize:1234\nurl:${D1}.webroot\ncreated:2026-01-31T12:00:00.000Z\nprevious:${D2}\nrollback:false\nstaged-digest:\nstaged-size:\nstaged-url:\n`,
    );
    const staged = canonicalBytes({ ...fields, previous: null, rollback: true, staged: { digest: D2, size: 9, url: 'x.webroot' } }).toString();
    expect(staged).toContain(`previous:\nrollback:true\nstaged-digest:${D2}\nstaged-size:9\nstaged-url:x.webroot\n`);
  });

  it('signs with Ed25519 (RFC 8032) and round-trips through the JSON file', () => {
    const keys = generateKeyPair();
    const priv = crypto.createPrivateKey(keys.privatePem);
    const signed = signManifest(fields, priv);
    const back = parseManifest(serializeManifest(signed), 'x.json');
    expect(back).toEqual(signed);
    expect(verifyManifest(back, loadPublicKey(keys.publicBase64))).toBe(true);
    expect(verifyManifest(back, crypto.createPublicKey(keys.publicPem))).toBe(true);
    expect(verifyManifest(back, loadPublicKey(generateKeyPair().publicBase64))).toBe(false);
  });

  it('a change to any signed field breaks the signature', () => {
    const priv = crypto.createPrivateKey(generateKeyPair().privatePem);
    const pub = crypto.createPublicKey(priv);
    const signed = signManifest(fields, priv);
    const edits: Partial<ManifestFields>[] = [
      { host: 'example.org' },
      { digest: D2 },
      { size: 1235 },
      { url: 'other.webroot' },
      { created: '2026-01-31T12:00:00.001Z' },
      { previous: null },
      { rollback: true },
      { staged: { digest: D2, size: 1, url: 'y' } },
    ];
    for (const e of edits) expect(verifyManifest({ ...signed, ...e }, pub), JSON.stringify(e)).toBe(false);
  });

  const good = () => JSON.parse(serializeManifest(signManifest(fields, crypto.createPrivateKey(generateKeyPair().privatePem)))) as Record<string, unknown>;
  const badInputs: [string, (m: Record<string, unknown>) => unknown, RegExp][] = [
    ['not JSON', () => '{', /not JSON/],
    ['an array', () => [], /expected a JSON object/],
    ['wrong format', (m) => ({ ...m, format: 'x' }), /format must be/],
    ['upper-case host', (m) => ({ ...m, host: 'Example.com' }), /host must be/],
    ['host with a newline', (m) => ({ ...m, host: 'a\nb' }), /host must be/],
    ['short digest', (m) => ({ ...m, digest: 'abc' }), /digest must be 64/],
    ['size 0', (m) => ({ ...m, size: 0 }), /size must be/],
    ['size as text', (m) => ({ ...m, size: '12' }), /size must be/],
    ['url with a space', (m) => ({ ...m, url: 'a b' }), /url must be/],
    ['url with a line break', (m) => ({ ...m, url: 'a\nstaged-url:x' }), /url must be/],
    ['created without ms', (m) => ({ ...m, created: '2026-01-31T12:00:00Z' }), /created must be/],
    ['previous not a digest', (m) => ({ ...m, previous: 'x' }), /previous must be/],
    ['rollback as text', (m) => ({ ...m, rollback: 'true' }), /rollback must be/],
    ['staged malformed', (m) => ({ ...m, staged: { digest: D1, size: 1 } }), /staged.url must be/],
    ['no signature', (m) => ({ ...m, signature: undefined }), /signature must be/],
  ];
  for (const [name, edit, message] of badInputs) {
    it(`refuses a manifest with ${name}: WEBROOT_BAD_MANIFEST naming the source`, () => {
      const v = edit(good());
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      let caught: unknown;
      try {
        parseManifest(text, 'chan/example.com.json');
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'WEBROOT_BAD_MANIFEST' });
      expect((caught as Error).message).toMatch(/^chan\/example\.com\.json: not a valid release manifest: /);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('keys: a private key is refused as a public one, a public one as private, a missing file says mkroot keygen', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-keys-'));
    try {
      const keys = generateKeyPair();
      fs.writeFileSync(path.join(dir, 'k'), keys.privatePem);
      fs.writeFileSync(path.join(dir, 'k.pub'), keys.publicPem);
      expect(loadPrivateKey(path.join(dir, 'k')).asymmetricKeyType).toBe('ed25519');
      expect(() => loadPrivateKey(path.join(dir, 'k.pub'))).toThrow(/not a PEM private key/);
      expect(() => loadPublicKey(path.join(dir, 'k'))).toThrow(/a private key; give the public key/);
      expect(() => loadPrivateKey(path.join(dir, 'none'))).toThrow(/no such private key file; make one with mkroot keygen/);
      const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' });
      fs.writeFileSync(path.join(dir, 'rsa.pub'), rsa);
      expect(() => loadPublicKey(path.join(dir, 'rsa.pub'))).toThrow(/rsa key, not Ed25519/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('digestFile is the sha256 of the whole file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-digest-'));
    try {
      const bytes = crypto.randomBytes(3 * 1024 * 1024 + 7);
      fs.writeFileSync(path.join(dir, 'f'), bytes);
      expect(await digestFile(path.join(dir, 'f'))).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
