import type { ChildProcess } from 'node:child_process';
import type { HttpdConfig } from '../config.js';
import type { Logger } from '../log.js';
import { AcmeManager } from './acme-manager.js';
import type { AcmeConfig } from './acme-options.js';
import type { AcmePrimaryMessage, AcmeWorkerMessage } from './worker-acme.js';
import type { MetricJson } from '../metrics/worker-metrics.js';
import { acmeMetrics } from './acme-metrics.js';

/** A worker that has not acknowledged a challenge within this long is not waited for (it may be starting or dying). */
const ACK_TIMEOUT_MS = 2000;

/**
 * The primary's ACME side: runs the AcmeManager and keeps every worker in
 * step with it over IPC: the challenge table (acknowledged, so the CA is told
 * to validate only once every worker can answer) and the certificates, sent
 * to each worker when it starts and to all of them when one is issued.
 */
export class PrimaryAcme {
  private readonly manager: AcmeManager;
  private readonly challenges = new Map<string, string>();
  private seq = 0;
  private readonly waiting = new Map<number, { pending: Set<number>; done: () => void }>();

  constructor(
    config: HttpdConfig,
    acmeConfig: AcmeConfig,
    log: Logger,
    private readonly workers: () => ReadonlyMap<number, ChildProcess>,
  ) {
    this.manager = new AcmeManager(config, acmeConfig, log, {
      publishChallenge: (token, keyAuthorization) => this.publish(token, keyAuthorization),
      installCert: (host, cert, key) => this.tellAll({ type: 'acme-cert', host, cert, key }),
    });
  }

  start(): void {
    this.manager.start();
  }

  stop(): void {
    this.manager.stop();
  }

  /** For the admin listener's /metrics. */
  metrics(): MetricJson[] {
    return acmeMetrics(this.manager.stats);
  }

  /** A new worker: every certificate and open challenge, before it accepts its first connection. */
  onSpawn(child: ChildProcess): void {
    for (const c of this.manager.certificates) child.send({ type: 'acme-cert', ...c } satisfies AcmePrimaryMessage);
    for (const [token, keyAuthorization] of this.challenges) child.send({ type: 'acme-challenge', token, keyAuthorization, seq: 0 } satisfies AcmePrimaryMessage);
  }

  /** A worker's message; false when it is not ACME's. */
  onMessage(id: number, m: { type?: string }): boolean {
    const msg = m as AcmeWorkerMessage;
    if (msg.type !== 'acme-ack') return false;
    const w = this.waiting.get(msg.seq);
    if (w) {
      w.pending.delete(id);
      if (w.pending.size === 0) w.done();
    }
    return true;
  }

  private tellAll(m: AcmePrimaryMessage): void {
    for (const w of this.workers().values()) if (w.connected) w.send(m);
  }

  private publish(token: string, keyAuthorization: string | undefined): Promise<void> {
    if (keyAuthorization === undefined) this.challenges.delete(token);
    else this.challenges.set(token, keyAuthorization);
    const seq = ++this.seq;
    const pending = new Set<number>();
    for (const [id, w] of this.workers()) {
      if (!w.connected) continue;
      pending.add(id);
      w.send({ type: 'acme-challenge', token, keyAuthorization, seq } satisfies AcmePrimaryMessage);
    }
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve();
      };
      const timer = setTimeout(done, ACK_TIMEOUT_MS);
      this.waiting.set(seq, { pending, done });
    });
  }
}
