import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { errorFields, type Logger } from '../log.js';
import { certNameOf, checkPair, selectCertName } from './cert-pair.js';

interface LoadedPair {
  context: tls.SecureContext;
  identity: string;
  checkHost: (host: string) => boolean;
}

/** What tls.Server.setTicketKeys does to its own context (Node keeps the native context in `.context`). */
function setContextTicketKeys(context: tls.SecureContext, keys: Buffer): void {
  (context as unknown as { context: { setTicketKeys(keys: Buffer): void } }).context.setTicketKeys(keys);
}

function identityOf(file: string): string {
  const s = fs.statSync(file);
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

/**
 * The certificates of CERTS_DIR, kept like the vhosts: `rescan()` re-reads the
 * directory and loads only the pairs whose .crt or .key changed (device, inode,
 * size, mtime). A new pair is validated fully (cert-pair.ts) before it
 * replaces the old one; a bad one is logged once per identity, naming both
 * files and the reason, and the previous one keeps serving. Contexts are made
 * once per pair; a handshake only looks one up (tls-listener.ts).
 */
export class CertStore {
  private readonly pairs = new Map<string, LoadedPair>();
  private names = new Set<string>();
  private readonly refused = new Map<string, string>();
  /** Host -> whether a loaded certificate covers it (for --redirect-http); cleared on every change. */
  private readonly covered = new Map<string, boolean>();
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;

  private ticketKeys?: Buffer;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The prepared context for a ClientHello's server name (exact, wildcard, default), or undefined: refuse the handshake. */
  contextFor(serverName: string | undefined): tls.SecureContext | undefined {
    const name = selectCertName(serverName, this.names);
    return name === undefined ? undefined : this.pairs.get(name)!.context;
  }

  /**
   * Session-ticket keys for every context, present and future: OpenSSL
   * encrypts and decrypts a ticket with the keys of the context the handshake
   * runs on, so all pairs hold the same keys (ticket-keys.ts).
   */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const pair of this.pairs.values()) setContextTicketKeys(pair.context, keys);
  }

  get loadedNames(): string[] {
    return [...this.names].sort();
  }

  /** Whether the certificate a handshake for `host` would get is valid for that name (RFC 6125 rules, by OpenSSL). */
  covers(host: string): boolean {
    let yes = this.covered.get(host);
    if (yes === undefined) {
      const name = selectCertName(host, this.names);
      yes = name !== undefined && this.pairs.get(name)!.checkHost(host);
      if (this.covered.size >= 4096) this.covered.clear();
      this.covered.set(host, yes);
    }
    return yes;
  }

  rescan(): void {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir);
    } catch (err) {
      this.log.log('error', 'certs-unreadable', { dir: this.dir, ...errorFields(err), keeping: 'loaded certificates' });
      return;
    }
    const seen = new Set<string>();
    for (const file of files) {
      const named = certNameOf(file);
      if (!named) continue;
      seen.add(named.name);
      const certFile = path.join(this.dir, file);
      const keyFile = certFile.slice(0, -'.crt'.length) + '.key';
      this.load(named.name, certFile, keyFile);
    }
    for (const name of this.pairs.keys()) {
      if (seen.has(name)) continue;
      this.pairs.delete(name);
      this.log.log('info', 'cert-removed', { name });
    }
    for (const name of this.refused.keys()) if (!seen.has(name)) this.refused.delete(name);
    this.names = new Set(this.pairs.keys());
    this.covered.clear();
  }

  /** Loads one pair if it changed; true when it replaced (or added) the loaded one. */
  private load(name: string, certFile: string, keyFile: string): boolean {
    const current = this.pairs.get(name);
    let identity: string;
    let certPem: Buffer;
    let keyPem: Buffer;
    try {
      identity = `${identityOf(certFile)}/${identityOf(keyFile)}`;
      if (current?.identity === identity || this.refused.get(name) === identity) return false;
      certPem = fs.readFileSync(certFile);
      keyPem = fs.readFileSync(keyFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? `no matching key file; put the private key in ${path.basename(keyFile)}` : `cannot read (${code})`;
      this.refuse(name, certFile, keyFile, `read:${code}`, reason, current !== undefined);
      return false;
    }
    const check = checkPair(certPem, keyPem, this.now());
    if (check.kind === 'bad') {
      this.refuse(name, certFile, keyFile, identity, check.reason, current !== undefined);
      return false;
    }
    const cert = check.cert;
    if (this.ticketKeys) setContextTicketKeys(check.context, this.ticketKeys);
    this.pairs.set(name, { context: check.context, identity, checkHost: (h) => cert.checkHost(h) !== undefined });
    this.refused.delete(name);
    this.log.log('info', current ? 'cert-renewed' : 'cert-loaded', {
      name,
      cert: certFile,
      key: keyFile,
      subject: cert.subject.replace(/\n/g, ', '),
      altNames: cert.subjectAltName,
      validTo: new Date(check.validTo).toISOString(),
    });
    return true;
  }

  private refuse(name: string, certFile: string, keyFile: string, identity: string, reason: string, keptOld: boolean): void {
    if (this.refused.get(name) === identity) return;
    this.refused.set(name, identity);
    this.log.log(keptOld ? 'warn' : 'error', 'cert-refused', { name, cert: certFile, key: keyFile, reason, ...(keptOld ? { keeping: 'previous certificate' } : {}) });
  }

  /** fs.watch as a hint (debounced), plus the periodic rescan; SIGHUP calls rescan() too. */
  watch(rescanIntervalMs: number, useWatch = true): void {
    if (useWatch) {
      try {
        this.watcher = fs.watch(this.dir, { persistent: false }, () => {
          clearTimeout(this.debounce);
          this.debounce = setTimeout(() => this.rescan(), 10);
        });
        this.watcher.on('error', (err) => this.log.log('warn', 'watch-failed', { dir: this.dir, ...errorFields(err) }));
      } catch (err) {
        this.log.log('warn', 'watch-failed', { dir: this.dir, ...errorFields(err), fallback: 'periodic rescan only' });
      }
    }
    if (rescanIntervalMs > 0) {
      this.timer = setInterval(() => this.rescan(), rescanIntervalMs);
      this.timer.unref();
    }
  }

  close(): void {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
  }
}
