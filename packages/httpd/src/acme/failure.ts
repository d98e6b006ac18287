/** Which step of an order failed: the log says so, with the cause. */
export type AcmeStage = 'directory' | 'account' | 'order' | 'challenge' | 'finalize' | 'store';

/** An ACME problem document (RFC 8555 section 6.7) seen on the last response, with its Retry-After (section 6.6). */
export interface Problem {
  type: string;
  detail?: string;
  retryAfterMs?: number;
}

export interface Failure {
  cause: string;
  /** Honoured as a floor of the next retry delay. */
  retryAfterMs?: number;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 section 10.2.3), in ms from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One line of cause for a failed order: what went wrong and what to do. Pure:
 * `err` is what the library threw, `problem` the last problem document the
 * CA sent (acme-client keeps only its detail), `directoryUrl` for the
 * messages that name it.
 */
export function describeFailure(stage: AcmeStage, err: unknown, problem: Problem | undefined, directoryUrl: string): Failure {
  const e = err as { message?: string; code?: string; response?: { status?: number } };
  const message = e?.message ?? String(err);
  if (stage === 'store') return { cause: `cannot write the state directory (${e?.code ?? message}); make --acme-state ([acme] state) writable (the certificate is kept in memory and served)` };
  if (problem?.type === 'urn:ietf:params:acme:error:rateLimited') {
    return { cause: `the CA's rate limit (rateLimited): ${problem.detail ?? message}; retrying after the CA's Retry-After`, retryAfterMs: problem.retryAfterMs };
  }
  if (e?.code !== undefined && NETWORK_CODES.has(e.code)) return { cause: `cannot reach the CA at ${directoryUrl} (${e.code}); check --acme-directory ([acme] directory) and the network` };
  if (/ACME directory returned error (\d+)/.test(message) || (stage === 'directory' && /status code|JSON|directory/i.test(message))) {
    return { cause: `${directoryUrl} is not an ACME directory (${message}); check --acme-directory ([acme] directory)` };
  }
  if (/Unable to locate API resource URL/.test(message)) return { cause: `${directoryUrl} is not an ACME directory (${message}); check --acme-directory ([acme] directory)` };
  if (/self[- ]signed|unable to verify|UNABLE_TO|CERT_/i.test(e?.code ?? message)) {
    return { cause: `cannot verify the CA's HTTPS certificate (${e?.code ?? message}); for a private CA give its root with NODE_EXTRA_CA_CERTS` };
  }
  if (stage === 'challenge') {
    return { cause: `the CA refused the http-01 challenge: ${problem?.detail ?? message}; check that the host's DNS points at this server and that port 80 reaches the plain listener` };
  }
  const type = problem?.type?.replace('urn:ietf:params:acme:error:', '');
  return { cause: `the CA refused the ${stage} request${type ? ` (${type})` : ''}: ${problem?.detail ?? message}`, retryAfterMs: problem?.retryAfterMs };
}
