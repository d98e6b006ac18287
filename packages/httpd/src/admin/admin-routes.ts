import type { Logger } from '../log.js';
import { MetricsAggregator } from '../metrics/aggregate.js';
import type { WorkerReport } from '../metrics/worker-metrics.js';
import { AdminServer } from './admin-server.js';
import { healthResponse, mergeNotLoaded, readyResponse } from './health.js';

/** How the admin listener gets the workers' reports: from every live worker over IPC, or from this process. */
export type ReportSource = () => Promise<Map<number, WorkerReport>>;

/**
 * The admin listener with its standard routes: /metrics (Prometheus text,
 * every worker aggregated), /healthz (this process answers), /readyz (every
 * configured vhost entry and mount loaded in every worker). More routes can
 * be added on the returned server (`admin.server.route('/status', ...)`).
 */
export function createAdmin(log: Logger, reports: ReportSource): { server: AdminServer; aggregator: MetricsAggregator } {
  const aggregator = new MetricsAggregator();
  const server = new AdminServer(log);
  server.route('/metrics', async () => {
    for (const [id, r] of await reports()) aggregator.report(id, r.metrics);
    const { contentType, body } = await aggregator.text();
    return { status: 200, contentType, body };
  });
  server.route('/healthz', healthResponse);
  server.route('/readyz', async () => {
    const all = [...(await reports()).values()];
    return readyResponse({ workers: all.length, notLoaded: mergeNotLoaded(all) });
  });
  return { server, aggregator };
}
