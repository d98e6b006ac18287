import fs from 'node:fs';
import { generateKeyPair, writeFileAtomically } from '@webroot/format/manifest';
import { MkrootError } from './errors.js';

export interface KeygenResult {
  privateFile: string;
  publicFile: string;
  publicBase64: string;
}

/** Writes an Ed25519 key pair: KEY (PKCS#8 PEM, mode 0600) and KEY.pub (SPKI PEM). Refuses to overwrite unless `force`. */
export async function keygen(file: string, opts: { force?: boolean } = {}): Promise<KeygenResult> {
  const publicFile = `${file}.pub`;
  if (!opts.force) {
    for (const f of [file, publicFile]) {
      if (fs.existsSync(f)) {
        throw new MkrootError(
          'MKROOT_KEY_EXISTS',
          `${f}: already exists; give another name, or --force to replace it (nodes that trust the old key then refuse what the new one signs)`,
        );
      }
    }
  }
  const keys = generateKeyPair();
  try {
    await writeFileAtomically(file, keys.privatePem, 0o600);
    await writeFileAtomically(publicFile, keys.publicPem, 0o644);
  } catch (err) {
    throw new MkrootError('MKROOT_DESTINATION_UNWRITABLE', `${file}: cannot write the key (${(err as NodeJS.ErrnoException).code}); check the directory`, { cause: err });
  }
  return { privateFile: file, publicFile, publicBase64: keys.publicBase64 };
}
