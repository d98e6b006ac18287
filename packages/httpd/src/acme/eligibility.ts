import net from 'node:net';
import { DEFAULT_CERT, selectCertName } from '../tls/cert-pair.js';

export type Eligibility = { kind: 'order' } | { kind: 'skip'; reason: 'default' | 'ip-address' | 'wildcard' | 'not-a-dns-name' | 'hand-placed' };

/**
 * Whether the primary orders a certificate for a vhost entry's host key: a
 * DNS host name of LDH labels with at least one dot (RFC 8555 section 7.1.4:
 * identifiers of type "dns"; an IP address or a wildcard needs another
 * challenge than HTTP-01, section 8.3 and RFC 8738), and no certificate placed
 * by hand in CERTS_DIR covers it (its exact name or a wildcard; `handNames`
 * as CertStore names them). Pure.
 */
export function acmeEligibility(host: string, handNames: ReadonlySet<string>): Eligibility {
  if (host === DEFAULT_CERT) return { kind: 'skip', reason: 'default' };
  if (net.isIP(host.replace(/^\[|\]$/g, '')) !== 0) return { kind: 'skip', reason: 'ip-address' };
  if (host.includes('*')) return { kind: 'skip', reason: 'wildcard' };
  if (host.length > 253 || !/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/.test(host)) return { kind: 'skip', reason: 'not-a-dns-name' };
  const hand = selectCertName(host, handNames);
  if (hand !== undefined && hand !== DEFAULT_CERT) return { kind: 'skip', reason: 'hand-placed' };
  return { kind: 'order' };
}
