import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp.js';

/** Why the openssl command line cannot be used here, or undefined when it can. */
export const opensslMissing: string | undefined = (() => {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'openssl is not installed (apt-get install openssl; .ci/apt.d/tls.txt lists it)';
})();

export interface CertOptions {
  /** Subject CN; also the first DNS name. */
  cn: string;
  /** subjectAltName DNS names (default: the CN). */
  dns?: string[];
  days?: number;
  /** EC P-256 (default) or RSA 2048. */
  keyType?: 'ec' | 'rsa';
}

/**
 * A self-signed certificate and its key, generated now (never committed), as
 * PEM files `<base>.crt` and `<base>.key` in `dir` (the key 0600).
 */
export function makeCert(dir: string, base: string, o: CertOptions): { cert: string; key: string } {
  const cert = path.join(dir, `${base}.crt`);
  const key = path.join(dir, `${base}.key`);
  const tmp = tmpDir('cert-');
  const tmpCert = path.join(tmp, 'c.pem');
  const tmpKey = path.join(tmp, 'k.pem');
  const keyArgs = o.keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const san = (o.dns ?? [o.cn]).map((d) => `DNS:${d}`).join(',');
  execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', tmpKey, '-out', tmpCert, '-days', String(o.days ?? 2), '-subj', `/CN=${o.cn}`, '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
  // Written in place with rename, as a certificate manager renews them.
  fs.copyFileSync(tmpKey, `${key}.tmp`);
  fs.chmodSync(`${key}.tmp`, 0o600);
  fs.renameSync(`${key}.tmp`, key);
  fs.copyFileSync(tmpCert, `${cert}.tmp`);
  fs.renameSync(`${cert}.tmp`, cert);
  return { cert, key };
}
