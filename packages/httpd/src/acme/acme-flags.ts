import type { AcmeConfig } from './acme-options.js';
import { parseAcmeOptions } from './acme-options.js';
import { StateDir } from './state-files.js';

/**
 * The --acme-* flags as commander parsed them, checked at start-up: the
 * options together (parseAcmeOptions), a TLS listener to serve the
 * certificates on, a supervising primary to do the ACME work, and a state
 * directory that can be written. `fail` prints one line and exits.
 */
export function acmeFromFlags(opts: Record<string, unknown>, context: { tls: boolean; workers: number }, fail: (message: string) => never): AcmeConfig | undefined {
  const outcome = parseAcmeOptions({
    directory: opts.acmeDirectory as string | undefined,
    email: opts.acmeEmail as string | undefined,
    agreeTos: opts.acmeAgreeTos as boolean | undefined,
    state: opts.acmeState as string | undefined,
    retry: opts.acmeRetry === undefined ? undefined : (opts.acmeRetry as number) / 1000,
  });
  if (outcome.kind === 'off') return undefined;
  if (outcome.kind === 'bad') fail(outcome.message);
  if (!context.tls) fail('--acme-directory needs --tls-port and --certs (the certificates are served on the HTTPS listener; CERTS_DIR may hold only __default__)');
  if (context.workers === 0) fail('--acme-directory needs --workers 1 or more (the supervising primary process does the ACME work)');
  try {
    new StateDir(outcome.acme.stateDir).prepare();
  } catch (err) {
    fail(`${outcome.acme.stateDir}: cannot write the ACME state directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a directory this user can write`);
  }
  return outcome.acme;
}
