import type { MetricJson } from '../metrics/worker-metrics.js';

/** What the primary's AcmeManager has counted since start-up. */
export interface AcmeStats {
  /** Orders that ended with a certificate served (even if it could not be written to the state directory). */
  issued: number;
  /** Orders that ended without one (every stage: directory, account, order, challenge, finalize). */
  failed: number;
  /** The certificate each host serves now (configured vhost names: bounded), its notAfter in ms. */
  expiries: { host: string; notAfter: number }[];
}

/**
 * The ACME metrics for /metrics (README "Monitoring"): kept by the primary,
 * which does every order, so they are not summed over workers. Pure.
 */
export function acmeMetrics(s: AcmeStats): MetricJson[] {
  return [
    {
      name: 'webroot_acme_orders_total',
      help: 'ACME orders finished, by result: issued (a certificate is served) or failed (retried with backoff; see the acme-failed log line).',
      type: 'counter',
      aggregator: 'sum',
      values: [
        { value: s.issued, labels: { result: 'issued' } },
        { value: s.failed, labels: { result: 'failed' } },
      ],
    },
    {
      name: 'webroot_acme_certificate_expiry_timestamp_seconds',
      help: 'When the ACME certificate each host serves expires (notAfter), as a Unix time in seconds.',
      type: 'gauge',
      aggregator: 'first',
      values: s.expiries.map((e) => ({ value: Math.floor(e.notAfter / 1000), labels: { host: e.host } })),
    },
  ];
}
