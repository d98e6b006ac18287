import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.js';
import type { CertStore } from './cert-store.js';
import { MAX_HELLO_RECORD, readClientHello } from './client-hello.js';

export interface TlsListenerOptions {
  certs: Pick<CertStore, 'contextFor'>;
  /** A handshake must finish within this long of the connection (the header timeout). */
  handshakeTimeoutMs: number;
  /** A socket that negotiated HTTP/1.1 (or no ALPN), after its handshake. */
  onHttp1: (socket: tls.TLSSocket) => void;
  /** A socket that negotiated h2; without it, only http/1.1 is offered. */
  onH2?: (socket: tls.TLSSocket) => void;
  log: Logger;
}

/**
 * The TLS port: a `net.Server` whose connections are read up to the end of
 * their ClientHello, which names the host (client-hello.ts); the certificate
 * pair for that name (CertStore: exact, wildcard, `__default__`) is then the
 * whole context of the handshake. The handshake itself is Node's: the socket,
 * with the bytes read so far put back, goes to a `tls.Server` that never
 * listens, whose context is set to that pair first (`_sharedCreds`, which
 * tls.Server reads synchronously when it wraps a connection; a TLSSocket made
 * by hand instead does not work with node:http2 on Node 20). ALPN offers `h2`
 * then `http/1.1` (RFC 7301); each socket then goes to the HTTP/1.1
 * Connection or the HTTP/2 server by the protocol it negotiated.
 */
export class TlsListener {
  readonly server: net.Server;
  private readonly tls: tls.Server;
  /** More TLS listening servers (extra `[[listen]] tls = true` entries), sharing the certificates and handshake: see addServer. */
  readonly extraServers: net.Server[] = [];

  constructor(private readonly options: TlsListenerOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.tls = tls.createServer(
      {
        ALPNProtocols: options.onH2 ? ['h2', 'http/1.1'] : ['http/1.1'],
        handshakeTimeout: options.handshakeTimeoutMs,
        // Only where this Node has no `_sharedCreds` (see above): then the pair is added to the default's.
        SNICallback: (name, cb) => cb(null, options.certs.contextFor(name)),
      },
      (socket) => {
        if (socket.alpnProtocol === 'h2' && options.onH2) options.onH2(socket);
        else options.onHttp1(socket);
      },
    );
    this.tls.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      options.log.log('debug', 'tls-handshake-failed', { error: err.message, code: err.code, remote: socket.remoteAddress });
    });
  }

  /** Another listening server whose connections get the same ClientHello-chosen handshake as `server`'s; the caller listens on it. */
  addServer(): net.Server {
    const server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.extraServers.push(server);
    return server;
  }

  close(): void {
    this.server.close();
    for (const s of this.extraServers) s.close();
  }

  private onConnection(socket: net.Socket): void {
    const { log, handshakeTimeoutMs } = this.options;
    const onError = () => socket.destroy();
    socket.on('error', onError);
    // Until the ClientHello is complete; then tls.Server's handshake timeout (the same length) takes over.
    const timer = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const hello = readClientHello(seen);
      if (hello.kind === 'incomplete' && seen.length <= MAX_HELLO_RECORD + 5) return;
      socket.removeListener('data', onData);
      socket.pause();
      clearTimeout(timer);
      if (hello.kind !== 'hello') {
        log.log('debug', 'tls-handshake-failed', { reason: hello.kind === 'not-tls' ? hello.reason : 'no complete ClientHello', remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      const context = this.options.certs.contextFor(hello.serverName);
      if (context === undefined) {
        log.log('debug', 'tls-handshake-failed', { reason: 'no certificate for this name and no __default__', serverName: hello.serverName, remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      socket.removeListener('error', onError);
      socket.unshift(seen);
      const internals = this.tls as unknown as { _sharedCreds?: tls.SecureContext };
      if (typeof internals._sharedCreds === 'object') internals._sharedCreds = context;
      this.tls.emit('connection', socket);
    };
    socket.on('data', onData);
  }
}
