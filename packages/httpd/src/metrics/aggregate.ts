import client from 'prom-client';
import { VERSION } from '../version.js';
import { isCumulative, type MetricJson } from './worker-metrics.js';

/**
 * The primary's one view of every worker. Each live worker's last report is
 * kept; when a worker exits, its counters and histograms are added to
 * `retired`, so a replaced worker never makes a counter go backwards (what it
 * counted after its last report is lost, which only undercounts).
 */
export class MetricsAggregator {
  private readonly live = new Map<number, MetricJson[]>();
  private retired: MetricJson[] = [];
  workerRestarts = 0;
  /** Metrics the primary itself keeps (the release followers'), read at each scrape. */
  private readonly sources: (() => MetricJson[])[] = [];

  addSource(source: () => MetricJson[]): void {
    this.sources.push(source);
  }

  report(worker: number, metrics: MetricJson[]): void {
    this.live.set(worker, metrics);
  }

  /** A worker exited: keep what it counted. */
  retire(worker: number): void {
    const last = this.live.get(worker);
    this.live.delete(worker);
    if (last === undefined) return;
    const kept = last.filter(isCumulative);
    this.retired = this.retired.length === 0 ? kept : summed([this.retired, kept]);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    const registry = client.AggregatorRegistry.aggregate([...this.live.values(), ...(this.retired.length > 0 ? [this.retired] : []), this.ownMetrics(), ...this.sources.map((f) => f())] as never);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  private ownMetrics(): MetricJson[] {
    return [
      { name: 'webroot_worker_restarts_total', help: 'Workers replaced after they died.', type: 'counter', aggregator: 'sum', values: [{ value: this.workerRestarts, labels: {} }] },
      { name: 'webroot_build_info', help: 'The httpd version and Node.js version, as labels.', type: 'gauge', aggregator: 'first', values: [{ value: 1, labels: { version: VERSION, nodejs: process.version } }] },
    ];
  }
}

/** Sums metric lists the way prom-client's aggregator does, back into JSON. */
function summed(lists: MetricJson[][]): MetricJson[] {
  const registry = client.AggregatorRegistry.aggregate(lists as never);
  // Each aggregated metric is a wrapper whose get() returns the summed JSON synchronously.
  return registry.getMetricsAsArray().map((m) => (m as unknown as { get(): MetricJson }).get());
}
