import path from 'node:path';

/** The ACME section: flags today (cli.ts), a configuration-file key can call parseAcmeOptions with the same fields. */
export interface AcmeConfig {
  /** The CA's directory URL (RFC 8555 section 7.1.1). */
  directoryUrl: string;
  /** Contact for the account (RFC 8555 section 7.3), as a mailto: URL. */
  email: string;
  /** Where the account key and the issued certificates are kept (absolute). */
  stateDir: string;
  /** First retry delay after a failed order; doubles per failure up to RETRY_CAP_MS. */
  retryMs: number;
}

export interface AcmeOptionInput {
  directory?: string;
  email?: string;
  agreeTos?: boolean;
  state?: string;
  /** Seconds. */
  retry?: number;
}

export type AcmeOptionsOutcome = { kind: 'off' } | { kind: 'ok'; acme: AcmeConfig } | { kind: 'bad'; message: string };

/** Default first retry: a CA counts failed validations per host (Let's Encrypt: 5 an hour), so retries start slow. */
export const DEFAULT_RETRY_MS = 60_000;

/**
 * Validates the ACME options as a whole: all or none of directory, email,
 * terms and state; the URL http(s), the email an address. Pure; `flag`
 * spells each option the way the user wrote it (flag or config key).
 */
export function parseAcmeOptions(o: AcmeOptionInput, flag: (name: keyof AcmeOptionInput) => string = (n) => `--acme-${n === 'agreeTos' ? 'agree-tos' : n}`): AcmeOptionsOutcome {
  const given = (['directory', 'email', 'agreeTos', 'state'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
  if (given.length === 0) return o.retry === undefined ? { kind: 'off' } : { kind: 'bad', message: `${flag('retry')} needs ${flag('directory')}` };
  const missing = (['directory', 'email', 'agreeTos', 'state'] as const).filter((k) => !given.includes(k));
  if (missing.length > 0) return { kind: 'bad', message: `ACME needs ${missing.map(flag).join(', ')} as well (the CA's directory URL, a contact email, agreement to the CA's terms, a state directory)` };
  let url: URL;
  try {
    url = new URL(o.directory!);
  } catch {
    return { kind: 'bad', message: `${flag('directory')} '${o.directory}' is not a URL; give the CA's directory URL, like https://acme-v02.api.letsencrypt.org/directory` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { kind: 'bad', message: `${flag('directory')} must be an https:// URL (got ${url.protocol})` };
  if (!/^[^\s@<>:,]+@[^\s@<>:,]+$/.test(o.email!)) return { kind: 'bad', message: `${flag('email')} '${o.email}' is not an email address; give one the CA may write to about expiring certificates` };
  return { kind: 'ok', acme: { directoryUrl: url.href, email: o.email!, stateDir: path.resolve(o.state!), retryMs: o.retry === undefined ? DEFAULT_RETRY_MS : Math.round(o.retry * 1000) } };
}
