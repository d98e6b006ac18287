import type { AdminResponse } from './admin-server.js';

export interface Readiness {
  /** Workers that answered (supervised) or 1 (a lone process). */
  workers: number;
  /** Configured vhost entries and mounts that are not loaded, with why (from every worker, deduplicated). */
  notLoaded: { name: string; reason: string }[];
}

/** /readyz: 200 when every configured vhost entry and mount is loaded everywhere, else 503 listing what is not. */
export function readyResponse(r: Readiness): AdminResponse {
  if (r.workers === 0) return { status: 503, contentType: 'text/plain; charset=utf-8', body: 'not ready: no worker is serving\n' };
  if (r.notLoaded.length === 0) return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ready\n' };
  const lines = r.notLoaded.map((n) => `${n.name}: ${n.reason}`);
  return { status: 503, contentType: 'text/plain; charset=utf-8', body: `not ready: ${r.notLoaded.length} not loaded\n${lines.join('\n')}\n` };
}

export function healthResponse(): AdminResponse {
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n' };
}

/** Merges what each worker reports as not loaded (the same entry from two workers is listed once). */
export function mergeNotLoaded(reports: { notLoaded: { name: string; reason: string }[] }[]): { name: string; reason: string }[] {
  const seen = new Map<string, string>();
  for (const r of reports) for (const n of r.notLoaded) if (!seen.has(n.name)) seen.set(n.name, n.reason);
  return [...seen].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, reason]) => ({ name, reason }));
}
