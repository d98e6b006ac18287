import type { ListenerConfig } from '../config.js';
import { formatAddress, overlaps, type Address } from './address.js';

/** A `[[listen]]` entry as the schema checked it. */
export interface ListenEntry {
  address: Address;
  tls?: boolean;
}

/** Where each listener of the running configuration came from: its `[[listen]]` index, if any. */
export interface ListenPlan {
  /** The first plain entry: `host` and `port` (the listener of --host/--port). */
  main?: { index: number; address: Address };
  /** The first `tls = true` entry: `tlsHost` and `tlsPort` (the listener of --tls-port). */
  tls?: { index: number; address: Address };
  /** Every other entry, in file order: `extraListeners`. */
  extra: { index: number; listener: ListenerConfig }[];
}

export interface ListenProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Splits the `[[listen]]` entries into the main plain listener, the main TLS
 * listener and the others. Pure. Every configuration has a plain listener (it
 * answers ACME's HTTP-01 challenges and --redirect-http), so entries that are
 * all `tls = true` are a problem.
 */
export function planListeners(entries: readonly ListenEntry[]): { plan: ListenPlan; problems: ListenProblem[] } {
  const plan: ListenPlan = { extra: [] };
  entries.forEach((e, index) => {
    const tls = e.tls === true;
    if (!tls && plan.main === undefined) plan.main = { index, address: e.address };
    else if (tls && plan.tls === undefined) plan.tls = { index, address: e.address };
    else plan.extra.push({ index, listener: { host: e.address.host, port: e.address.port, tls } });
  });
  const problems: ListenProblem[] = [];
  if (entries.length > 0 && plan.main === undefined) {
    problems.push({ path: ['listen', 0], message: 'every [[listen]] entry has tls = true; add a plain one too, like address = "0.0.0.0:80" (it answers ACME challenges and redirect_http)' });
  }
  return { plan, problems };
}

/** One listener of a configuration, with the key that names it (for the problem's FILE:LINE:COLUMN). */
export interface NamedListener {
  address: Address;
  tls: boolean;
  path: (string | number)[];
}

/**
 * Listeners that would share a socket: each later one that overlaps an
 * earlier one (same port and address, or a wildcard address) is one problem
 * at its own key. Pure.
 */
export function overlappingListeners(listeners: readonly NamedListener[]): ListenProblem[] {
  const problems: ListenProblem[] = [];
  listeners.forEach((l, j) => {
    const earlier = listeners.slice(0, j).find((k) => overlaps(k.address, l.address));
    if (earlier) {
      problems.push({
        path: [...l.path, ...(l.path.length > 0 ? ['address'] : [])],
        message: `${formatAddress(l.address)} overlaps the listener ${formatAddress(earlier.address)}${earlier.path.length > 0 ? ` (${keyOf(earlier.path)})` : ''}; give each [[listen]] entry its own port, or its own address without a wildcard`,
      });
    }
  });
  return problems;
}

/**
 * Every listener of a configuration as it will be bound (--port, --host and
 * --tls-port included), named by its [[listen]] entry unless a flag set it.
 */
export function namedListeners(c: { host: string; port: number; tlsHost?: string; tlsPort?: number }, plan: ListenPlan, fromFlag: (k: 'host' | 'port' | 'tlsPort') => boolean): NamedListener[] {
  return [
    { address: { host: c.host, port: c.port }, tls: false, path: plan.main && !fromFlag('port') && !fromFlag('host') ? ['listen', plan.main.index] : [] },
    ...(c.tlsPort !== undefined ? [{ address: { host: c.tlsHost ?? c.host, port: c.tlsPort }, tls: true, path: plan.tls && !fromFlag('tlsPort') ? ['listen', plan.tls.index] : [] }] : []),
    ...plan.extra.map((e) => ({ address: { host: e.listener.host, port: e.listener.port }, tls: e.listener.tls, path: ['listen', e.index] })),
  ];
}

function keyOf(p: (string | number)[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** Every listener the configuration binds, main plain first, then main TLS, then the others. */
export function allListeners(c: { host: string; port: number; tlsHost?: string; tlsPort?: number; extraListeners?: ListenerConfig[] }): ListenerConfig[] {
  return [
    { host: c.host, port: c.port, tls: false },
    ...(c.tlsPort !== undefined ? [{ host: c.tlsHost ?? c.host, port: c.tlsPort, tls: true }] : []),
    ...(c.extraListeners ?? []),
  ];
}
