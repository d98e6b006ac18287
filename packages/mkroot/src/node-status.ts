import { MkrootError } from './errors.js';

/** What httpd's `GET /status` answers (packages/httpd/README.md "Status"), as far as mkroot status reads it. */
export interface NodeStatusDocument {
  format: 'webroot-status/1';
  hosts: Record<string, { digest: string | null }>;
}

export type NodeReport = { node: string; kind: 'ok'; status: NodeStatusDocument } | { node: string; kind: 'unreachable'; error: string };

export interface HostAgreement {
  host: string;
  agree: boolean;
  /** digest (or null: the node has no such host, or its file has no digest) -> the nodes serving it, in the order given. */
  byDigest: { digest: string | null; nodes: string[] }[];
}

export interface StatusSummary {
  hosts: HostAgreement[];
  unreachable: { node: string; error: string }[];
  /** Every node answered and, for every host, all serve the same digest. */
  agree: boolean;
}

/** Groups what each node serves by host (pure): the basis of `mkroot status`'s output and exit code. */
export function compareNodes(reports: NodeReport[], onlyHost?: string): StatusSummary {
  const ok = reports.filter((r): r is Extract<NodeReport, { kind: 'ok' }> => r.kind === 'ok');
  const hostNames = new Set<string>();
  for (const r of ok) for (const h of Object.keys(r.status.hosts)) hostNames.add(h);
  if (onlyHost !== undefined) {
    hostNames.clear();
    hostNames.add(onlyHost);
  }
  const hosts = [...hostNames].sort().map((host): HostAgreement => {
    const groups = new Map<string | null, string[]>();
    for (const r of ok) {
      const d = r.status.hosts[host]?.digest ?? null;
      groups.set(d, [...(groups.get(d) ?? []), r.node]);
    }
    const byDigest = [...groups].map(([digest, nodes]) => ({ digest, nodes }));
    return { host, agree: byDigest.length === 1 && byDigest[0]!.digest !== null, byDigest };
  });
  const unreachable = reports.filter((r): r is Extract<NodeReport, { kind: 'unreachable' }> => r.kind === 'unreachable').map(({ node, error }) => ({ node, error }));
  return { hosts, unreachable, agree: unreachable.length === 0 && ok.length > 0 && hosts.every((h) => h.agree) };
}

/** `http://10.0.0.1:9100` -> `http://10.0.0.1:9100/status`; a URL already ending in /status is kept. */
export function statusUrl(node: string): string {
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(node) ? node : `http://${node}`);
  } catch {
    throw new MkrootError('MKROOT_BAD_OPTION', `--nodes: '${node}' is not a URL; give http://HOST:PORT of each node's --status listener`);
  }
  if (!url.pathname.endsWith('/status')) url.pathname = `${url.pathname.replace(/\/$/, '')}/status`;
  return url.href;
}

export async function fetchNodeStatus(node: string, timeoutMs = 5000): Promise<NodeReport> {
  const url = statusUrl(node);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!res.ok) return { node, kind: 'unreachable', error: `${res.status} ${res.statusText} from ${url}` };
    const body = (await res.json()) as NodeStatusDocument;
    if (body?.format !== 'webroot-status/1' || typeof body.hosts !== 'object' || body.hosts === null) {
      return { node, kind: 'unreachable', error: `${url} is not a webroot status document` };
    }
    return { node, kind: 'ok', status: body };
  } catch (err) {
    const e = err as { cause?: { code?: string; message?: string }; name?: string; message?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
    return { node, kind: 'unreachable', error: why };
  }
}

/** One line per host (and per unreachable node), as `mkroot status` prints them. */
export function formatSummary(s: StatusSummary): string[] {
  const short = (d: string | null) => (d === null ? '(nothing)' : d.slice(0, 12));
  const lines = s.hosts.map((h) => {
    const total = h.byDigest.reduce((n, g) => n + g.nodes.length, 0);
    if (h.agree) return `${h.host}: ${total} of ${total} nodes serve ${short(h.byDigest[0]!.digest)}`;
    return `${h.host}: DISAGREE: ${h.byDigest.map((g) => `${short(g.digest)} on ${g.nodes.join(', ')}`).join('; ')}`;
  });
  for (const u of s.unreachable) lines.push(`${u.node}: UNREACHABLE (${u.error}); check that the node runs with --status and the address is right`);
  return lines;
}
