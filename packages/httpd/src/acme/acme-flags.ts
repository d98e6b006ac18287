import type { AcmeConfig } from './acme-options.js';
import { parseAcmeOptions } from './acme-options.js';
import { StateDir } from './state-files.js';

/** The --acme-* flags as commander parsed them, checked together (parseAcmeOptions); undefined when none is given. `fail` prints one line and exits. */
export function acmeFlagOptions(opts: Record<string, unknown>, fail: (message: string) => never): AcmeConfig | undefined {
  const outcome = parseAcmeOptions({
    directory: opts.acmeDirectory as string | undefined,
    email: opts.acmeEmail as string | undefined,
    agreeTos: opts.acmeAgreeTos as boolean | undefined,
    state: opts.acmeState as string | undefined,
    retry: opts.acmeRetry === undefined ? undefined : (opts.acmeRetry as number) / 1000,
  });
  if (outcome.kind === 'off') return undefined;
  if (outcome.kind === 'bad') fail(outcome.message);
  return outcome.acme;
}

/** Creates the state directory (0700) at start-up, or fails naming it: from the flags or from [acme] state. */
export function prepareAcmeState(acme: AcmeConfig, fail: (message: string) => never): void {
  try {
    new StateDir(acme.stateDir).prepare();
  } catch (err) {
    fail(`${acme.stateDir}: cannot write the ACME state directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a directory this user can write`);
  }
}

/**
 * The --acme-* flags without a configuration file, checked at start-up: the
 * options together, a TLS listener to serve the certificates on, a
 * supervising primary to do the ACME work, and a state directory that can be
 * written. (With --config, config/secure-keys.ts checks the same of the
 * merged settings.)
 */
export function acmeFromFlags(opts: Record<string, unknown>, context: { tls: boolean; workers: number }, fail: (message: string) => never): AcmeConfig | undefined {
  const acme = acmeFlagOptions(opts, fail);
  if (acme === undefined) return undefined;
  if (!context.tls) fail('--acme-directory needs --tls-port and --certs (the certificates are served on the HTTPS listener; CERTS_DIR may hold only __default__)');
  if (context.workers === 0) fail('--acme-directory needs --workers 1 or more (the supervising primary process does the ACME work)');
  prepareAcmeState(acme, fail);
  return acme;
}
