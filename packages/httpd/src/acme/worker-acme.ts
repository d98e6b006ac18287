import type tls from 'node:tls';
import type { RequestInfo, Resource } from '../http/response.js';
import { parseTarget } from '../http/target.js';
import type { Logger } from '../log.js';
import { checkPair } from '../tls/cert-pair.js';
import { setContextTicketKeys } from '../tls/cert-store.js';

/** The primary's ACME messages (primary-acme.ts). */
export type AcmePrimaryMessage =
  /** Publish (keyAuthorization) or withdraw (none) an HTTP-01 answer; acknowledged with `seq`. */
  | { type: 'acme-challenge'; token: string; keyAuthorization?: string; seq: number }
  /** A certificate issued (or loaded from the state directory) for `host`. */
  | { type: 'acme-cert'; host: string; cert: string; key: string };

export type AcmeWorkerMessage = { type: 'acme-ack'; seq: number };

/** RFC 8555 section 8.3: the HTTP-01 resource. */
export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
/** Tokens are base64url (RFC 8555 section 8.1), at least 128 bits of entropy. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * A worker's ACME side: the challenge table the primary keeps in sync (so
 * any worker answers the CA's HTTP-01 request), and the certificates the
 * primary obtained, one prepared context each, swapped whole when a renewal
 * arrives (new handshakes get the new one; running connections keep theirs).
 */
export class WorkerAcme {
  private readonly challenges = new Map<string, string>();
  private readonly certs = new Map<string, { context: tls.SecureContext; checkHost: (h: string) => boolean; validTo: number }>();
  private ticketKeys?: Buffer;

  constructor(private readonly log: Logger) {}

  /** Handles an ACME message of the primary; false when `m` is not one. */
  onMessage(m: { type?: string } | undefined, reply: (m: AcmeWorkerMessage) => void): boolean {
    const msg = m as AcmePrimaryMessage | undefined;
    if (msg?.type === 'acme-challenge') {
      if (msg.keyAuthorization === undefined) this.challenges.delete(msg.token);
      else this.challenges.set(msg.token, msg.keyAuthorization);
      reply({ type: 'acme-ack', seq: msg.seq });
      return true;
    }
    if (msg?.type === 'acme-cert') {
      this.install(msg.host, msg.cert, msg.key);
      return true;
    }
    return false;
  }

  private install(host: string, certPem: string, keyPem: string): void {
    const check = checkPair(Buffer.from(certPem), Buffer.from(keyPem), Date.now());
    if (check.kind === 'bad') {
      this.log.log('warn', 'acme-cert-refused', { host, reason: check.reason, keeping: this.certs.has(host) ? 'previous certificate' : 'default certificate' });
      return;
    }
    if (this.ticketKeys) setContextTicketKeys(check.context, this.ticketKeys);
    const cert = check.cert;
    const renewed = this.certs.has(host);
    this.certs.set(host, { context: check.context, checkHost: (h) => cert.checkHost(h) !== undefined, validTo: check.validTo });
    this.log.log('info', renewed ? 'acme-cert-renewed' : 'acme-cert-loaded', { host, serial: cert.serialNumber, validTo: new Date(check.validTo).toISOString() });
  }

  /**
   * The plain listener's hook, before any site rule or redirect: GET or HEAD
   * of /.well-known/acme-challenge/TOKEN with a published TOKEN answers the
   * key authorization (RFC 8555 section 8.3); anything else is served as usual.
   */
  readonly challengeResource = (req: RequestInfo): Resource | undefined => {
    if (this.challenges.size === 0 || (req.method !== 'GET' && req.method !== 'HEAD')) return undefined;
    const target = parseTarget(req.target);
    if (target.kind !== 'path' || !target.path.startsWith(CHALLENGE_PREFIX)) return undefined;
    const token = target.path.slice(CHALLENGE_PREFIX.length);
    if (!TOKEN.test(token)) return undefined;
    const answer = this.challenges.get(token);
    return answer === undefined ? undefined : { kind: 'text', status: 200, text: answer, contentType: 'application/octet-stream' };
  };

  /** The ACME certificate for exactly this server name, if any and not expired (renewals failed that long: __default__ answers). */
  contextFor(serverName: string | undefined, now = Date.now()): tls.SecureContext | undefined {
    if (serverName === undefined || this.certs.size === 0) return undefined;
    const c = this.certs.get(serverName.toLowerCase().replace(/\.$/, ''));
    return c !== undefined && c.validTo > now ? c.context : undefined;
  }

  covers(host: string): boolean {
    return this.certs.get(host)?.checkHost(host) ?? false;
  }

  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const c of this.certs.values()) setContextTicketKeys(c.context, keys);
  }
}
