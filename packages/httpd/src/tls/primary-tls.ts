import type { ChildProcess } from 'node:child_process';
import type { HttpdConfig } from '../config.js';
import { bindListenSocket, type SocketHandle } from '../cluster/listen-socket.js';
import { rotateTicketKeys } from './ticket-keys.js';
import type { TlsPrimaryMessage } from './worker-tls.js';

/**
 * The primary's TLS side: it binds the TLS port (like the plain one, so it
 * stays open across worker deaths) and owns the session-ticket keys, sent to
 * each worker when it starts and to all of them on every rotation.
 */
export class PrimaryTls {
  private keys = '';
  private stopRotation?: () => void;

  private constructor(private readonly socket: { handle: SocketHandle; port: number }) {}

  /**
   * Binds --tls-port (on tlsHost, else host). `port` is the bound port, which workers are given in
   * place of 0 (they build https:// redirects with it); `config` is left as the file and flags say,
   * so a reload compares like with like.
   * `inherited`: a socket from systemd or an upgrade (cluster/service.ts) to serve instead of binding.
   */
  static async bind(config: HttpdConfig, inherited?: { handle: SocketHandle; port: number }): Promise<PrimaryTls> {
    const socket = inherited ?? (await bindListenSocket(config.tlsHost ?? config.host, config.tlsPort!));
    return new PrimaryTls(socket);
  }

  get port(): number {
    return this.socket.port;
  }

  /** The listening descriptor, handed to a new primary by an upgrade. */
  get fd(): number {
    return (this.socket.handle as SocketHandle & { fd: number }).fd;
  }

  /** Starts rotating the keys; `tellAll` sends a message to every live worker. */
  start(tellAll: (m: TlsPrimaryMessage) => void): void {
    this.stopRotation = rotateTicketKeys((keys) => {
      this.keys = keys.toString('base64');
      tellAll({ type: 'tls-ticket-keys', keys: this.keys });
    });
  }

  /** A new worker: the keys first, so its first handshake already issues shared tickets, then the socket. */
  onSpawn(child: ChildProcess): void {
    child.send({ type: 'tls-ticket-keys', keys: this.keys } satisfies TlsPrimaryMessage);
    child.send({ type: 'tls-listen' } satisfies TlsPrimaryMessage, this.socket.handle as never);
  }

  stop(): void {
    this.stopRotation?.();
  }
}
