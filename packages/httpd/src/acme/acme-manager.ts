import fs from 'node:fs';
import acme from 'acme-client';
import type { HttpdConfig } from '../config.js';
import { errorFields, type Logger } from '../log.js';
import { certNameOf, checkPair } from '../tls/cert-pair.js';
import { groupEntryNames } from '../vhosts/entry-names.js';
import type { AcmeConfig } from './acme-options.js';
import { acmeEligibility } from './eligibility.js';
import { describeFailure, parseRetryAfter, type AcmeStage, type Problem } from './failure.js';
import { planHost, renewalTime, retryDelay, type HostSchedule } from './schedule.js';
import { StateDir } from './state-files.js';
import type { AcmeStats } from './acme-metrics.js';

/** What the manager does with its results: the primary sends them to every worker (primary-acme.ts). */
export interface AcmeSink {
  /** Publishes (or withdraws, with undefined) an HTTP-01 answer; resolves once every worker has it. */
  publishChallenge(token: string, keyAuthorization: string | undefined): Promise<void>;
  installCert(host: string, cert: string, key: string): void;
}

interface Held {
  cert: string;
  key: string;
  notBefore: number;
  notAfter: number;
}

// acme-client retries 429 and 5xx itself, sleeping Retry-After inside the order; the manager retries with its own backoff instead.
(acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
// acme-client 5.4.0's response interceptor reads `response.config` of a network error, which has no response, and
// throws a TypeError in place of ECONNREFUSED; such errors pass through unchanged instead.
{
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: ({ rejected?: (e: unknown) => unknown } | null)[] }).handlers;
  const theirs = handlers[0];
  const rejected = theirs?.rejected;
  if (theirs && rejected) theirs.rejected = (err) => ((err as { response?: unknown }).response === undefined ? Promise.reject(err) : rejected(err));
}

/**
 * The primary's ACME work (RFC 8555): one account, one order at a time, per
 * host of the vhosts directory that is a DNS name without a hand-placed
 * certificate (eligibility.ts). Certificates live in the state directory and
 * are handed to the sink; each is renewed at two thirds of its lifetime
 * (schedule.ts); a failure is one log line naming host and cause, retried with
 * capped exponential backoff while the current certificate keeps serving.
 */
export class AcmeManager {
  private readonly state: StateDir;
  private readonly held = new Map<string, Held>();
  private readonly schedules = new Map<string, HostSchedule>();
  private accountKey?: Buffer;
  private busy = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** The last problem document the CA sent (orders run one at a time, so one slot is enough). */
  private problem?: Problem;
  private readonly noted = new Map<string, string>();
  /** Orders by outcome, for /metrics (acme-metrics.ts). */
  private readonly outcomes = { issued: 0, failed: 0 };

  constructor(
    private readonly config: HttpdConfig,
    private readonly acmeConfig: AcmeConfig,
    private readonly log: Logger,
    private readonly sink: AcmeSink,
  ) {
    this.state = new StateDir(acmeConfig.stateDir);
    acme.axios.interceptors.response.use(
      (resp) => this.see(resp),
      (err: { response?: unknown }) => {
        this.see(err.response as never);
        return Promise.reject(err);
      },
    );
  }

  private see<R extends { data?: unknown; headers?: Record<string, unknown> } | undefined>(resp: R): R {
    const data = resp?.data as { type?: unknown; detail?: unknown } | undefined;
    if (data && typeof data.type === 'string' && data.type.startsWith('urn:ietf:params:acme:error:')) {
      this.problem = { type: data.type, detail: typeof data.detail === 'string' ? data.detail : undefined, retryAfterMs: parseRetryAfter(resp?.headers?.['retry-after'] as string | undefined, Date.now()) };
    }
    return resp;
  }

  get stats(): AcmeStats {
    return { ...this.outcomes, expiries: [...this.held].map(([host, h]) => ({ host, notAfter: h.notAfter })).sort((a, b) => (a.host < b.host ? -1 : 1)) };
  }

  get certificates(): { host: string; cert: string; key: string }[] {
    return [...this.held].map(([host, h]) => ({ host, cert: h.cert, key: h.key }));
  }

  /** Loads the stored certificates (served at once, no new order while valid), then checks the hosts every rescan interval. */
  start(): void {
    for (const host of this.state.storedHosts()) {
      const stored = this.state.read(host);
      if (!stored) continue;
      const check = checkPair(stored.cert, stored.key, Date.now());
      if (check.kind === 'bad') {
        this.log.log('warn', 'acme-stored-refused', { host, cert: this.state.certFile(host), reason: check.reason, next: 'a new order' });
        continue;
      }
      this.hold(host, stored.cert.toString(), stored.key.toString(), Date.parse(check.cert.validFrom), check.validTo);
      this.log.log('info', 'acme-cert-reused', { host, validTo: new Date(check.validTo).toISOString(), renewAt: new Date(renewalTime(this.held.get(host)!, this.schedules.get(host)!.jitter)).toISOString() });
    }
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.config.rescanIntervalMs));
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private hold(host: string, cert: string, key: string, notBefore: number, notAfter: number): void {
    this.held.set(host, { cert, key, notBefore, notAfter });
    this.schedules.set(host, { cert: { notBefore, notAfter }, failures: 0, jitter: Math.random() });
    this.sink.installCert(host, cert, key);
  }

  /** The hosts to hold certificates for now: vhost entries minus those skipped (logged once per host and reason). */
  private wantedHosts(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.config.vhostsDir);
    } catch {
      return [];
    }
    const hand = new Set<string>();
    try {
      for (const f of fs.readdirSync(this.config.certsDir!)) {
        const n = certNameOf(f);
        if (n) hand.add(n.name);
      }
    } catch {
      // An unreadable CERTS_DIR is the cert store's to report; no hand-placed names then.
    }
    const out: string[] = [];
    for (const host of groupEntryNames(names).single.keys()) {
      const e = acmeEligibility(host, hand);
      if (e.kind === 'order') out.push(host);
      else if (e.reason !== 'default' && this.noted.get(host) !== e.reason) {
        this.noted.set(host, e.reason);
        this.log.log('info', 'acme-skipped', { host, reason: e.reason });
      }
    }
    return out.sort();
  }

  private tick(): void {
    if (this.busy || this.stopped) return;
    const now = Date.now();
    for (const host of this.wantedHosts()) {
      let s = this.schedules.get(host);
      if (!s) this.schedules.set(host, (s = { failures: 0, jitter: Math.random() }));
      const plan = planHost(s, now, this.acmeConfig.retryMs);
      if (plan.kind === 'wait') continue;
      this.busy = true;
      void this.order(host, plan.why).finally(() => {
        this.busy = false;
        if (!this.stopped) setImmediate(() => this.tick());
      });
      return;
    }
  }

  private async order(host: string, why: string): Promise<void> {
    const a = this.acmeConfig;
    let stage: AcmeStage = 'store';
    this.problem = undefined;
    const published: string[] = [];
    let issued = false;
    try {
      if (this.accountKey === undefined) {
        const made = await acme.crypto.createPrivateEcdsaKey();
        this.accountKey = this.state.accountKey(() => made);
      }
      stage = 'directory';
      const client = new acme.Client({ directoryUrl: a.directoryUrl, accountKey: this.accountKey, backoffAttempts: 20, backoffMin: 200, backoffMax: 2000 });
      await client.getTermsOfServiceUrl(); // reads the directory (RFC 8555 section 7.1.1)
      stage = 'account';
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${a.email}`] });
      stage = 'order';
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: host }] });
      this.log.log('info', 'acme-order', { host, why, order: order.url });
      for (const authz of await client.getAuthorizations(order)) {
        if (authz.status === 'valid') continue;
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (!challenge) throw new Error(`the CA offers no http-01 challenge for ${host} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`);
        const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
        stage = 'challenge';
        await this.sink.publishChallenge(challenge.token, keyAuthorization);
        published.push(challenge.token);
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
        stage = 'order';
      }
      stage = 'finalize';
      const [key, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, await acme.crypto.createPrivateEcdsaKey());
      const finalized = await client.finalizeOrder(order, csr);
      const cert = await client.getCertificate(finalized);
      const check = checkPair(Buffer.from(cert), key, Date.now());
      if (check.kind === 'bad') throw new Error(`the CA's certificate cannot be served: ${check.reason}`);
      const notBefore = Date.parse(check.cert.validFrom);
      // In memory and in every worker first: an unwritable state directory costs the next restart an order, not this certificate.
      this.hold(host, cert, key.toString(), notBefore, check.validTo);
      issued = true;
      this.outcomes.issued += 1;
      stage = 'store';
      this.state.write(host, cert, key);
      this.log.log('info', 'acme-issued', {
        host,
        serial: check.cert.serialNumber,
        issuer: check.cert.issuer.replace(/\n/g, ', '),
        validTo: new Date(check.validTo).toISOString(),
        renewAt: new Date(renewalTime({ notBefore, notAfter: check.validTo }, this.schedules.get(host)!.jitter)).toISOString(),
      });
    } catch (err) {
      const s = this.schedules.get(host) ?? { failures: 0, jitter: Math.random() };
      const failure = describeFailure(stage, err, this.problem, a.directoryUrl);
      if (!issued) {
        this.outcomes.failed += 1;
        s.failures += 1;
        s.failedAt = Date.now();
        s.retryAfterMs = failure.retryAfterMs;
        this.schedules.set(host, s);
      }
      const current = this.held.get(host);
      this.log.log(current ? 'warn' : 'error', 'acme-failed', {
        host,
        stage,
        cause: failure.cause,
        ...errorFields(err),
        failures: s.failures,
        ...(!issued ? { retryInMs: retryDelay(s.failures, a.retryMs, s.retryAfterMs) } : {}),
        serving: current ? `current certificate until ${new Date(current.notAfter).toISOString()}` : 'the default certificate',
      });
    } finally {
      for (const token of published) void this.sink.publishChallenge(token, undefined);
    }
  }
}
