import tls from 'node:tls';
import type { Logger } from '../log.js';
import { TLS_SETTINGS } from './cert-pair.js';
import type { CertStore } from './cert-store.js';
import { TICKET_LIFETIME_S } from './ticket-keys.js';

export interface TlsListenerOptions {
  certs: CertStore;
  /** A handshake must finish within this long (the header timeout). */
  handshakeTimeoutMs: number;
  /** A socket that negotiated HTTP/1.1 (or no ALPN), after its handshake. */
  onHttp1: (socket: tls.TLSSocket) => void;
  /** A socket that negotiated h2; without it, only http/1.1 is offered. */
  onH2?: (socket: tls.TLSSocket) => void;
  log: Logger;
}

/**
 * One `tls.Server` for the TLS port: the certificate per handshake by SNI
 * (CertStore), ALPN `h2` then `http/1.1` (RFC 7301), and each socket handed
 * after its handshake to the HTTP/1.1 Connection or the HTTP/2 session by the
 * protocol it negotiated. Clients without SNI get the server's own context,
 * which holds the `__default__` pair (`setDefault`).
 */
export class TlsListener {
  readonly server: tls.Server;
  private ticketKeys?: Buffer;

  constructor(private readonly options: TlsListenerOptions) {
    this.server = tls.createServer(
      {
        ...TLS_SETTINGS,
        SNICallback: options.certs.sniCallback,
        ALPNProtocols: options.onH2 ? ['h2', 'http/1.1'] : ['http/1.1'],
        handshakeTimeout: options.handshakeTimeoutMs,
        sessionTimeout: TICKET_LIFETIME_S,
        noDelay: true,
      },
      (socket) => this.route(socket),
    );
    // A failed handshake (no certificate for the name, a protocol or cipher we refuse, a timeout) costs that connection only.
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      options.log.log('debug', 'tls-handshake-failed', { error: err.message, code: err.code, remote: socket.remoteAddress });
    });
  }

  private route(socket: tls.TLSSocket): void {
    if (socket.alpnProtocol === 'h2' && this.options.onH2) this.options.onH2(socket);
    else this.options.onHttp1(socket);
  }

  /** The pair for clients without SNI (or none: such handshakes fail). Keeps the ticket keys. */
  setDefault(pair: { cert: Buffer; key: Buffer } | undefined): void {
    this.server.setSecureContext({ ...TLS_SETTINGS, ...(pair ?? {}), sessionTimeout: TICKET_LIFETIME_S });
    if (this.ticketKeys) this.server.setTicketKeys(this.ticketKeys);
  }

  /**
   * Session-ticket keys shared by every worker (see ticket-keys.ts). OpenSSL
   * encrypts and decrypts tickets with the keys of the context a connection
   * started on (the server's own), also when SNI switches the certificate.
   */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.server.setTicketKeys(keys);
  }
}
