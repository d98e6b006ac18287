import type { HttpdConfig } from '../config.js';

/** Settings a reload cannot change in a running service: the log line names them, and they keep their old values until a restart. */
export const RESTART_ONLY: readonly (keyof HttpdConfig)[] = [
  'io',
  'workers',
  // Every [[listen]] entry: the primary binds them once, for the life of the service (cluster/extra-listeners.ts).
  'host',
  'port',
  'tlsHost',
  'tlsPort',
  'extraListeners',
  'admin',
  // [tls] and [acme]: each worker's TLS side and the primary's ACME client are made once, at start-up.
  'certsDir',
  'redirectHttp',
  'hstsSeconds',
  'acme',
];

/** Settings that are bookkeeping, not behaviour. */
const IGNORED: readonly (keyof HttpdConfig)[] = ['configFile', 'overrides'];

export interface ConfigChange {
  /** Every setting whose value differs (HttpdConfig names), sorted. */
  changed: string[];
  /** Those of `changed` that need a restart (not applied). */
  restartOnly: string[];
  /** What to run with: `next`, with the restart-only settings of `current`. */
  applied: HttpdConfig;
}

/** What a reload from `current` to `next` changes and what it can apply. Pure. */
export function diffConfig(current: HttpdConfig, next: HttpdConfig): ConfigChange {
  const keys = new Set([...Object.keys(current), ...Object.keys(next)] as (keyof HttpdConfig)[]);
  const changed = [...keys].filter((k) => !IGNORED.includes(k) && JSON.stringify(current[k]) !== JSON.stringify(next[k])).sort();
  const restartOnly = changed.filter((k) => RESTART_ONLY.includes(k as keyof HttpdConfig));
  const applied: HttpdConfig = { ...next };
  for (const k of RESTART_ONLY) {
    if (current[k] === undefined) delete applied[k];
    else (applied as unknown as Record<string, unknown>)[k] = current[k];
  }
  return { changed, restartOnly, applied };
}
