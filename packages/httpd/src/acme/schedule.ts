/** Longest wait between two attempts of a failing host. */
export const RETRY_CAP_MS = 6 * 3600_000;
/** Jitter moves a renewal earlier by up to this share of the lifetime (so many hosts do not renew at the same second). */
export const JITTER_SHARE = 0.05;

export interface HostSchedule {
  /** The certificate held for the host (served), if any. */
  cert?: { notBefore: number; notAfter: number };
  /** Consecutive failed attempts since the last success. */
  failures: number;
  /** When the last attempt failed. */
  failedAt?: number;
  /** The CA's Retry-After on the last failure, in ms (RFC 8555 section 6.6). */
  retryAfterMs?: number;
  /** In [0, 1): drawn once per certificate. */
  jitter: number;
}

export type Plan = { kind: 'order'; why: 'no-certificate' | 'renewal' | 'retry' } | { kind: 'wait'; untilMs: number };

/** When a certificate is renewed: at two thirds of its lifetime, earlier by up to JITTER_SHARE of it. */
export function renewalTime(cert: { notBefore: number; notAfter: number }, jitter: number): number {
  const life = cert.notAfter - cert.notBefore;
  return cert.notBefore + Math.floor((life * 2) / 3 - life * JITTER_SHARE * jitter);
}

/** Delay after `failures` consecutive failures: base, doubling, capped; never shorter than the CA's Retry-After. */
export function retryDelay(failures: number, baseMs: number, retryAfterMs = 0): number {
  const exp = Math.min(RETRY_CAP_MS, baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.min(Math.max(exp, retryAfterMs), Math.max(RETRY_CAP_MS, retryAfterMs));
}

/** What to do for one host now. Pure. */
export function planHost(h: HostSchedule, now: number, baseRetryMs: number): Plan {
  if (h.failures > 0 && h.failedAt !== undefined) {
    const at = h.failedAt + retryDelay(h.failures, baseRetryMs, h.retryAfterMs);
    if (now < at) return { kind: 'wait', untilMs: at };
    return { kind: 'order', why: 'retry' };
  }
  if (h.cert === undefined) return { kind: 'order', why: 'no-certificate' };
  const at = renewalTime(h.cert, h.jitter);
  return now < at ? { kind: 'wait', untilMs: at } : { kind: 'order', why: 'renewal' };
}
