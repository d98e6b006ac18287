import type { MetricJson } from '../metrics/worker-metrics.js';
import type { FollowerStatus } from './follower.js';

/** The followers' counters for /metrics (labels bounded: one host per --follow, reasons from REFUSAL_REASONS). */
export function followMetrics(statuses: FollowerStatus[]): MetricJson[] {
  return [
    {
      name: 'webroot_follow_refusals_total',
      help: 'Manifests and releases a followed channel offered that the node refused, by reason (MANIFEST.md).',
      type: 'counter',
      aggregator: 'sum',
      values: statuses.flatMap((s) => Object.entries(s.refusals).map(([reason, value]) => ({ value, labels: { host: s.host, reason } }))),
    },
    {
      name: 'webroot_follow_downloads_total',
      help: 'Releases downloaded and verified from a followed channel.',
      type: 'counter',
      aggregator: 'sum',
      values: statuses.map((s) => ({ value: s.downloads.completed, labels: { host: s.host } })),
    },
    {
      name: 'webroot_follow_resumed_downloads_total',
      help: 'Of those, downloads that continued an interrupted one with a ranged request.',
      type: 'counter',
      aggregator: 'sum',
      values: statuses.map((s) => ({ value: s.downloads.resumed, labels: { host: s.host } })),
    },
    {
      name: 'webroot_follow_release_info',
      help: 'The release (sha256 of the whole file) a followed host serves, as a label; 1.',
      type: 'gauge',
      aggregator: 'first',
      values: statuses.flatMap((s) => (s.current ? [{ value: 1, labels: { host: s.host, digest: s.current.digest } }] : [])),
    },
  ];
}
