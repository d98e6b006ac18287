import net from 'node:net';

export interface Address {
  host: string;
  port: number;
}

/** "127.0.0.1:8080", "[::1]:8080", "localhost:80", "*:8080" (every IPv4 address) into host and port. */
export function parseAddress(value: string): Address | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.*-]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined) return net.isIPv6(m[1]) ? { host: m[1], port } : undefined;
  const host = m[2] === '*' ? '0.0.0.0' : m[2]!;
  if (host.includes('*')) return undefined;
  return { host, port };
}

export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Two listeners conflict when they share a port (not 0) and an address, or one of them is a wildcard. */
export function overlaps(a: Address, b: Address): boolean {
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  return a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host);
}
