import fs from 'node:fs';
import path from 'node:path';
import type { HttpdConfig } from '../config.js';
import { parseAcmeOptions } from '../acme/acme-options.js';
import { certNameOf, parsePair } from '../tls/cert-pair.js';
import { directoryProblem } from './fs-checks.js';
import type { FileConfig } from './schema.js';

type Problem = (p: (string | number)[], message: string) => void;

/** The settings of [tls] and [acme] in HttpdConfig's terms (before the command line's overrides). */
export function secureSettings(f: FileConfig, abs: (p: string) => string, problem: Problem, o: { acmeFromFlags: boolean }): Pick<HttpdConfig, 'certsDir' | 'redirectHttp' | 'hstsSeconds' | 'acme'> {
  const out: Pick<HttpdConfig, 'certsDir' | 'redirectHttp' | 'hstsSeconds' | 'acme'> = {};
  if (f.tls?.certs !== undefined) out.certsDir = abs(f.tls.certs);
  if (f.tls?.redirect_http !== undefined) out.redirectHttp = f.tls.redirect_http;
  if (f.tls?.hsts !== undefined) out.hstsSeconds = f.tls.hsts;
  // The --acme-* flags, given together, replace the whole [acme] section.
  if (f.acme !== undefined && !o.acmeFromFlags) {
    const a = f.acme;
    const outcome = parseAcmeOptions(
      { directory: a.directory, email: a.email, agreeTos: a.agree_tos, state: a.state !== undefined ? abs(a.state) : undefined, retry: a.retry !== undefined ? a.retry / 1000 : undefined },
      (n) => `acme.${n === 'agreeTos' ? 'agree_tos' : n}`,
    );
    if (outcome.kind === 'bad') problem(['acme'], outcome.message);
    else if (outcome.kind === 'ok') out.acme = outcome.acme;
  }
  return out;
}

/** The [tls] and [acme] keys the file sets and no flag overrides: problems with them are named at their line. */
export function secureKeysInFile(f: FileConfig, fromFlag: (k: keyof HttpdConfig) => boolean): Set<string> {
  const keys = new Set<string>();
  if (f.tls?.certs !== undefined && !fromFlag('certsDir')) keys.add('certs');
  if (f.tls?.redirect_http !== undefined && !fromFlag('redirectHttp')) keys.add('redirect_http');
  if (f.tls?.hsts !== undefined && !fromFlag('hstsSeconds')) keys.add('hsts');
  if (f.acme !== undefined && !fromFlag('acme')) keys.add('acme');
  return keys;
}

/**
 * What the TLS and ACME settings need of each other and of the filesystem,
 * checked on the merged configuration (file and command line): a TLS listener
 * needs certificates and the reverse; redirect_http and hsts need a TLS
 * listener; CERTS_DIR must be a readable directory whose pairs parse and
 * match; ACME needs a TLS listener, a supervisor and a state directory it can
 * create or write. `keys` says where each setting was written (undefined: on
 * the command line), for the problem's FILE:LINE:COLUMN.
 */
export function secureProblems(c: HttpdConfig, keys: { tlsListener?: (string | number)[]; fromFile: ReadonlySet<string> }, problem: Problem): void {
  const at = (key: string, filePath: (string | number)[]) => (keys.fromFile.has(key) ? filePath : []);
  const tls = c.tlsPort !== undefined;
  if (tls && c.certsDir === undefined) {
    problem(keys.tlsListener ?? [], 'a TLS listener needs certificates: add [tls] certs = "/etc/webroot/certs" (a directory of <host>.crt and <host>.key pairs), or give --certs');
  }
  if (!tls && c.certsDir !== undefined) problem(at('certs', ['tls', 'certs']), 'certificates but no TLS listener: add a [[listen]] entry with tls = true (or give --tls-port)');
  if (!tls && c.redirectHttp) problem(at('redirect_http', ['tls', 'redirect_http']), 'redirect_http needs a TLS listener to redirect to: add a [[listen]] entry with tls = true, or remove redirect_http');
  if (!tls && c.hstsSeconds !== undefined) problem(at('hsts', ['tls', 'hsts']), 'hsts is sent on HTTPS responses only: add a [[listen]] entry with tls = true, or remove hsts');
  if (c.certsDir !== undefined) {
    const key = at('certs', ['tls', 'certs']);
    const why = directoryProblem(c.certsDir);
    if (why) problem(key, `${c.certsDir}: ${why}; give the directory of <host>.crt and <host>.key pairs`);
    else for (const p of pairProblems(c.certsDir)) problem(key, p);
  }
  if (c.acme !== undefined) {
    const key = at('acme', ['acme']);
    const what = key.length > 0 ? 'ACME' : '--acme-directory';
    if (!tls) {
      const hint = key.length > 0 ? 'add a [[listen]] entry with tls = true and [tls] certs' : 'give --tls-port and --certs, or add a [[listen]] entry with tls = true and [tls] certs to the file';
      problem(key, `${what} needs a TLS listener to serve its certificates on: ${hint} (the certificates directory may hold only __default__)`);
    }
    if (c.workers === 0) problem(key, `${what} needs workers = 1 or more (the supervising primary process does the ACME work)`);
    const why = stateDirProblem(c.acme.stateDir);
    if (why) problem(key, `${c.acme.stateDir}: ${why}`);
  }
}

/**
 * Every pair of CERTS_DIR that cannot be served whatever the date: a key
 * missing or unreadable, PEM that does not parse, a key that does not match.
 * (An expired certificate is refused by the store at run time instead, so it
 * does not block a reload of unrelated settings.)
 */
export function pairProblems(dir: string): string[] {
  const out: string[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!certNameOf(file)) continue;
    const certFile = path.join(dir, file);
    const keyFile = `${certFile.slice(0, -'.crt'.length)}.key`;
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = fs.readFileSync(certFile);
    } catch (err) {
      out.push(`${certFile}: cannot read (${(err as NodeJS.ErrnoException).code}); check its permissions`);
      continue;
    }
    try {
      key = fs.readFileSync(keyFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push(code === 'ENOENT' ? `${certFile}: no matching key file; put the private key in ${path.basename(keyFile)}` : `${keyFile}: cannot read (${code}); check its permissions`);
      continue;
    }
    const parsed = parsePair(cert, key);
    if (parsed.kind === 'bad') out.push(`${certFile} + ${path.basename(keyFile)}: ${parsed.reason}`);
  }
  return out;
}

/** The ACME state directory exists and is writable, or its nearest existing parent is (it is created at start-up). */
function stateDirProblem(dir: string): string | undefined {
  let d = dir;
  for (;;) {
    try {
      const st = fs.statSync(d);
      if (!st.isDirectory()) return `${d === dir ? 'is' : `${d} is`} not a directory; give a directory for the ACME account key and certificates`;
      fs.accessSync(d, fs.constants.W_OK | fs.constants.X_OK);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `cannot write the ACME state directory (${code}${d === dir ? '' : ` on ${d}`}); give a directory this user can write`;
      const up = path.dirname(d);
      if (up === d) return 'no existing parent directory; give a directory this user can write';
      d = up;
    }
  }
}
