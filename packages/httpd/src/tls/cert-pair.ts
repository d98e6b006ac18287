import crypto from 'node:crypto';
import tls from 'node:tls';
import { TICKET_LIFETIME_S } from './ticket-keys.js';

/**
 * TLS settings of every context: TLS 1.2 and 1.3 only, Mozilla's "intermediate"
 * cipher list (ECDHE with AES-GCM or ChaCha20-Poly1305; the DHE suites are left
 * out, so no DH parameters are needed), the client's preference among them
 * (Mozilla: ssl_prefer_server_ciphers off, so a client without AES hardware can
 * pick ChaCha20).
 */
export const TLS_SETTINGS: Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers' | 'ecdhCurve' | 'honorCipherOrder'> = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  ecdhCurve: 'X25519:prime256v1:secp384r1',
  honorCipherOrder: false,
};

/** Name of the pair that answers clients without SNI or with a name no other pair covers. */
export const DEFAULT_CERT = '__default__';

/**
 * What a file name in CERTS_DIR names: `example.com.crt` the host
 * example.com, `_.example.com.crt` the wildcard *.example.com (one label, RFC
 * 6125 section 6.4.3), `__default__.crt` the default. Undefined for files that
 * are not certificates (`.key`, dot files, other extensions).
 */
export function certNameOf(fileName: string): { name: string; kind: 'host' | 'wildcard' | 'default' } | undefined {
  if (fileName.startsWith('.') || !fileName.endsWith('.crt')) return undefined;
  const base = fileName.slice(0, -'.crt'.length).toLowerCase().replace(/\.$/, '');
  if (base === DEFAULT_CERT) return { name: base, kind: 'default' };
  if (base.startsWith('_.')) {
    const rest = base.slice(2);
    return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(rest) ? { name: `*.${rest}`, kind: 'wildcard' } : undefined;
  }
  return /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(base) ? { name: base, kind: 'host' } : undefined;
}

export type PairCheck =
  | { kind: 'ok'; context: tls.SecureContext; cert: crypto.X509Certificate; validTo: number }
  | { kind: 'bad'; reason: string };

/**
 * The part of checkPair that does not depend on the clock: both parse, and
 * the key matches the leaf (a configuration check uses it alone, so an
 * expiring certificate does not stop a reload; the store refuses it).
 */
export function parsePair(certPem: Buffer, keyPem: Buffer): { kind: 'ok'; cert: crypto.X509Certificate } | { kind: 'bad'; reason: string } {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
  } catch (err) {
    return { kind: 'bad', reason: `the certificate does not parse as PEM (${(err as Error).message}); give the leaf certificate first, then its chain` };
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (err) {
    return { kind: 'bad', reason: `the private key does not parse as an unencrypted PEM key (${(err as Error).message})` };
  }
  if (!cert.checkPrivateKey(key)) return { kind: 'bad', reason: 'the private key does not match the certificate; give the key the certificate was issued for' };
  return { kind: 'ok', cert };
}

/**
 * Validates one certificate/key pair fully and prepares its context (once per
 * pair, not per handshake): the .crt must parse (the leaf first, the chain
 * after it), the key must parse and match the leaf, and the leaf must be valid
 * at `nowMs`. A bad pair is a reason to print, never an exception.
 */
export function checkPair(certPem: Buffer, keyPem: Buffer, nowMs: number): PairCheck {
  const parsed = parsePair(certPem, keyPem);
  if (parsed.kind === 'bad') return parsed;
  const { cert } = parsed;
  const validFrom = Date.parse(cert.validFrom);
  const validTo = Date.parse(cert.validTo);
  if (validTo <= nowMs) return { kind: 'bad', reason: `the certificate expired on ${new Date(validTo).toISOString()}; renew it` };
  if (validFrom > nowMs) return { kind: 'bad', reason: `the certificate is not valid before ${new Date(validFrom).toISOString()}; check the clock or the certificate` };
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({ ...TLS_SETTINGS, cert: certPem, key: keyPem, sessionTimeout: TICKET_LIFETIME_S, sessionIdContext: 'webroot' });
  } catch (err) {
    return { kind: 'bad', reason: `TLS refused the pair (${(err as Error).message})` };
  }
  return { kind: 'ok', context, cert, validTo };
}

/**
 * Which configured name answers a TLS server name: the exact host, else the
 * wildcard one label up, else the default. Pure: `names` is what is loaded.
 */
export function selectCertName(serverName: string | undefined, names: ReadonlySet<string>): string | undefined {
  const host = (serverName ?? '').toLowerCase().replace(/\.$/, '');
  if (host !== '') {
    if (names.has(host)) return host;
    const dot = host.indexOf('.');
    if (dot > 0 && names.has(`*${host.slice(dot)}`)) return `*${host.slice(dot)}`;
  }
  return names.has(DEFAULT_CERT) ? DEFAULT_CERT : undefined;
}
