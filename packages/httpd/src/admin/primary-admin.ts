import type { ChildProcess } from 'node:child_process';
import type { HttpdConfig } from '../config.js';
import { errorFields, type Logger } from '../log.js';
import { WorkerReports } from '../cluster/worker-reports.js';
import type { MetricJson } from '../metrics/worker-metrics.js';
import { createAdmin } from './admin-routes.js';
import type { AdminServer } from './admin-server.js';

export interface PrimaryAdmin {
  server: AdminServer;
  /** Every message from worker `id` (reports are picked out). */
  onMessage(id: number, m: unknown): void;
  /** Worker `id` exited; `replaced`: the supervisor starts another. */
  onExit(id: number, replaced: boolean): void;
  close(): void;
  /** Adds metrics the primary keeps itself to /metrics. */
  addMetrics(source: () => MetricJson[]): void;
}

/** The admin listener of a supervised service, in the primary, over every worker's reports. Exits 1 if it cannot listen. */
export async function startPrimaryAdmin(config: HttpdConfig, log: Logger, workers: () => ReadonlyMap<number, ChildProcess>, inheritedFd?: number): Promise<PrimaryAdmin | undefined> {
  const address = config.admin;
  if (address === undefined) return undefined;
  const reports = new WorkerReports(workers);
  const { server, aggregator } = createAdmin(log, () => reports.collect());
  try {
    const a = await server.listen(address.host, address.port, inheritedFd);
    log.log('info', 'admin-listening', { url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/`, port: a.port });
  } catch (err) {
    process.stderr.write(`httpd: cannot listen on the admin address ${address.host}:${address.port}: ${errorFields(err).error}; choose another admin address\n`);
    process.exit(1);
  }
  return {
    server,
    onMessage: (_id, m) => reports.onMessage(m as never),
    onExit(id, replaced) {
      // Take this worker's last counts in before forgetting it, so no counter goes backwards.
      aggregator.retire(id);
      reports.forget(id);
      if (replaced) aggregator.workerRestarts++;
    },
    close: () => server.close(),
    addMetrics: (source) => aggregator.addSource(source),
  };
}
