import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { HttpdConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { HttpServer } from '../server/http-server.js';
import { H2Server } from '../h2/h2-server.js';
import { CertStore } from './cert-store.js';
import type { RequestInfo, Resource } from '../http/response.js';
import { httpsRedirect } from './redirect-http.js';
import { addFields, hstsField } from './response-fields.js';
import { decodeTicketKeys, rotateTicketKeys } from './ticket-keys.js';
import { TlsListener } from './tls-listener.js';
import type { WorkerAcme } from '../acme/worker-acme.js';

/** Messages of the primary that concern TLS (see cluster/primary.ts). */
export type TlsPrimaryMessage = { type: 'tls-listen' } | { type: 'tls-ticket-keys'; keys: string };

/**
 * A worker's TLS side: the certificate store (watched like the vhosts), the
 * TLS listener feeding the worker's HttpServer, the HSTS field, and the
 * --redirect-http decision for the plain listener. The worker calls these
 * hooks; everything else about TLS lives in this folder.
 */
export class WorkerTls {
  readonly certs: CertStore;
  readonly listener: TlsListener;
  private stopRotation?: () => void;
  private h2?: H2Server;
  private port: number;

  constructor(
    private readonly config: HttpdConfig,
    log: Logger,
    server: () => HttpServer,
    /** Certificates from ACME (--acme-*): after a hand-placed pair for the name, before __default__. */
    private readonly acme?: WorkerAcme,
  ) {
    this.port = config.tlsPort ?? 0;
    const decorate = config.hstsSeconds !== undefined ? addFields([hstsField(config.hstsSeconds)]) : undefined;
    let http1: ((socket: net.Socket) => void) | undefined;
    const h2 = (): H2Server => (this.h2 ??= new H2Server(server().contextWith({ scheme: 'https', decorate })));
    this.listener = new TlsListener({
      certs: this.lookupOf((this.certs = new CertStore(config.certsDir!, log))),
      handshakeTimeoutMs: config.headerTimeoutMs,
      onHttp1: (socket) => (http1 ??= server().acceptWith({ scheme: 'https', decorate }))(socket),
      onH2: (socket) => h2().adopt(socket),
      log,
    });
    this.certs.rescan();
    this.certs.watch(config.rescanIntervalMs, config.watch);
  }

  /** The handshake's lookup: a hand-placed pair for the name wins over ACME's, which wins over __default__. */
  private lookupOf(certs: CertStore): Pick<CertStore, 'contextFor'> {
    const acme = this.acme;
    if (!acme) return certs;
    return { contextFor: (name) => certs.specificContextFor(name) ?? acme.contextFor(name) ?? certs.contextFor(name) };
  }

  /** For the plain listener's context: where --redirect-http sends a request, if anywhere. */
  get redirect(): ((req: RequestInfo) => Resource | undefined) | undefined {
    if (!this.config.redirectHttp) return undefined;
    return (req) => httpsRedirect(req, (host) => this.certs.covers(host) || (this.acme?.covers(host) ?? false), this.port);
  }

  /** Handles a TLS message of the primary; false when `m` is not one. */
  onMessage(m: { type?: string } | undefined, handle: unknown, listening: () => void): boolean {
    const msg = m as TlsPrimaryMessage | undefined;
    if (msg?.type === 'tls-ticket-keys') {
      const keys = decodeTicketKeys(msg.keys);
      if (keys) {
        this.certs.setTicketKeys(keys);
        this.acme?.setTicketKeys(keys);
      }
      return true;
    }
    if (msg?.type === 'tls-listen' && handle) {
      this.listener.server.listen(handle as object, listening);
      return true;
    }
    return false;
  }

  /** Unsupervised (--workers 0): bind the TLS port here and make the ticket keys here. */
  listenAlone(then: () => void): void {
    this.stopRotation = rotateTicketKeys((keys) => {
      this.certs.setTicketKeys(keys);
      this.acme?.setTicketKeys(keys);
    });
    this.listener.server.listen({ port: this.config.tlsPort, host: this.config.tlsHost ?? this.config.host }, () => {
      this.port = (this.listener.server.address() as AddressInfo).port;
      then();
    });
  }

  get boundPort(): number {
    return this.port;
  }

  rescan(): void {
    this.certs.rescan();
  }

  close(): void {
    this.listener.close();
    this.h2?.drain();
    this.certs.close();
    this.stopRotation?.();
  }
}
