import type { ChildProcess } from 'node:child_process';
import type { WorkerReport } from '../metrics/worker-metrics.js';

/** How long the primary waits for a worker's report before using its last one. */
const REPORT_TIMEOUT_MS = 1000;

/**
 * The primary's side of report requests: asks every live worker over IPC and
 * resolves with the answers that came within REPORT_TIMEOUT_MS (a worker busy
 * past that is answered with its previous report, or left out).
 */
export class WorkerReports {
  private nextId = 1;
  private readonly waiting = new Map<number, { worker: number; resolve: (r: WorkerReport) => void }>();
  private readonly last = new Map<number, WorkerReport>();

  constructor(private readonly workers: () => ReadonlyMap<number, ChildProcess>) {}

  /** A worker's message, if it is a report. */
  onMessage(m: { type?: string; id?: number; report?: WorkerReport }): void {
    if (m?.type !== 'report' || m.id === undefined || m.report === undefined) return;
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    this.last.set(w.worker, m.report);
    w.resolve(m.report);
  }

  forget(worker: number): void {
    this.last.delete(worker);
  }

  collect(): Promise<Map<number, WorkerReport>> {
    const asks: Promise<[number, WorkerReport | undefined]>[] = [];
    for (const [worker, child] of this.workers()) {
      if (!child.connected) continue;
      const id = this.nextId++;
      asks.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            this.waiting.delete(id);
            resolve([worker, this.last.get(worker)]);
          }, REPORT_TIMEOUT_MS);
          this.waiting.set(id, { worker, resolve: (r) => (clearTimeout(timer), resolve([worker, r])) });
          child.send({ type: 'report', id });
        }),
      );
    }
    return Promise.all(asks).then((all) => new Map(all.filter((a): a is [number, WorkerReport] => a[1] !== undefined)));
  }
}
