import crypto from 'node:crypto';
import fs from 'node:fs';
import { WebrootError } from '../errors.js';

/** Ed25519 keys for release manifests: PEM files (PKCS#8 private, SPKI public), or a public key as base64 of its 32 raw bytes. */
export interface KeyPairPem {
  privatePem: string;
  publicPem: string;
  /** The 32 raw public key bytes in base64: what `follow key=` accepts inline. */
  publicBase64: string;
}

// SPKI DER of an Ed25519 key is this 12-byte prefix and the 32 raw bytes (RFC 8410 section 4).
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicBase64: rawPublicKey(publicKey).toString('base64'),
  };
}

export function rawPublicKey(key: crypto.KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

function badKey(source: string, what: string): WebrootError {
  return new WebrootError('WEBROOT_BAD_KEY', `${source}: ${what}`, source);
}

function readKeyFile(file: string, kind: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw badKey(file, `no such ${kind} key file; make one with mkroot keygen`);
    throw badKey(file, `cannot read the ${kind} key (${code}); check its permissions`);
  }
}

/** The private key of a PEM file written by `mkroot keygen`. */
export function loadPrivateKey(file: string): crypto.KeyObject {
  const text = readKeyFile(file, 'private');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(text);
  } catch {
    throw badKey(file, 'not a PEM private key; give the private key file mkroot keygen wrote (not the .pub)');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw badKey(file, `an ${key.asymmetricKeyType} key, not Ed25519; make one with mkroot keygen`);
  return key;
}

/** A public key given as base64 of its 32 raw bytes, or as the path of a PEM file (mkroot keygen's KEY.pub). */
export function loadPublicKey(fileOrBase64: string): crypto.KeyObject {
  if (/^[A-Za-z0-9+/]{43}=$/.test(fileOrBase64) && !fs.existsSync(fileOrBase64)) {
    const raw = Buffer.from(fileOrBase64, 'base64');
    return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  }
  const text = readKeyFile(fileOrBase64, 'public');
  // createPublicKey would accept a private PEM and derive its public half: refuse it, a private key belongs on the publisher only.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw badKey(fileOrBase64, 'a private key; give the public key (KEY.pub) to the nodes, never the private one');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(text);
  } catch {
    throw badKey(fileOrBase64, 'not a PEM public key; give KEY.pub from mkroot keygen, or its base64 line');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw badKey(fileOrBase64, `an ${key.asymmetricKeyType} key, not Ed25519; make one with mkroot keygen`);
  return key;
}

/** The public half of a private key. */
export function publicKeyOf(privateKey: crypto.KeyObject): crypto.KeyObject {
  return crypto.createPublicKey(privateKey);
}
