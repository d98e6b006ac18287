import type { ChildProcess } from 'node:child_process';
import type net from 'node:net';
import type { ListenerConfig } from '../config.js';
import { formatAddress } from '../config/address.js';
import type { HttpServer } from '../server/http-server.js';
import type { WorkerTls } from '../tls/worker-tls.js';
import { BindError, bindListenSocket, type SocketHandle } from './listen-socket.js';
import { openInheritedSocket, type InheritedFd } from './socket-activation.js';

/**
 * The `[[listen]]` entries beyond the main plain and main TLS listeners
 * (config.extraListeners). Like those two, each is bound once by the primary
 * and kept for the life of the service; every worker listens on its copy,
 * plain ones into the worker's HttpServer (the same sites, ACME challenges and
 * --redirect-http), TLS ones into its TLS listener (the same certificates,
 * tickets and HTTP/2). An upgrade (SIGUSR2) hands them on as `listen-N`.
 */

export interface BoundListener extends ListenerConfig {
  handle: SocketHandle;
  /** The descriptor, for an upgrade's hand-over. */
  fd: number;
}

/** The name of extra listener `index` among an upgrade's sockets. */
export const extraSocketName = (index: number): string => `listen-${index}`;

export class ExtraListenError extends Error {
  constructor(
    readonly listener: ListenerConfig,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Binds every extra listener, or takes it from an upgrade's inherited sockets; throws ExtraListenError naming the one that failed. */
export async function bindExtraListeners(listeners: readonly ListenerConfig[], inherited: readonly InheritedFd[] = []): Promise<BoundListener[]> {
  const bound: BoundListener[] = [];
  for (const [i, l] of listeners.entries()) {
    const from = inherited.find((f) => f.name === extraSocketName(i));
    try {
      const socket = from ? openInheritedSocket(from.fd) : await bindListenSocket(l.host, l.port);
      bound.push({ ...l, port: socket.port, handle: socket.handle, fd: (socket.handle as SocketHandle & { fd: number }).fd });
    } catch (err) {
      for (const b of bound) b.handle.close();
      const code = err instanceof BindError ? err.code : ((err as NodeJS.ErrnoException).code ?? 'EUNKNOWN');
      throw new ExtraListenError(l, code, (err as Error).message);
    }
  }
  return bound;
}

/** What `httpd` prints when an extra listener cannot be bound (exit 1). */
export function extraListenErrorText(e: ExtraListenError): string {
  const where = `${formatAddress(e.listener)}${e.listener.tls ? ' (tls)' : ''}`;
  const what =
    e.code === 'EADDRINUSE'
      ? 'address already in use; stop the other server or change that [[listen]] entry'
      : e.code === 'EACCES'
        ? 'permission denied; ports below 1024 need privileges, change that [[listen]] entry'
        : e.code === 'EADDRNOTAVAIL'
          ? 'no such local address; check that [[listen]] entry'
          : e.message;
  return `cannot listen on ${where}: ${what}`;
}

export type ExtraListenMessage = { type: 'listen-extra'; index: number; tls: boolean };

/** Sends a new worker every extra socket (before the main 'listen', so it serves all of them once it says 'listening'). */
export function sendExtraListeners(child: ChildProcess, bound: readonly BoundListener[]): void {
  bound.forEach((b, index) => child.send({ type: 'listen-extra', index, tls: b.tls } satisfies ExtraListenMessage, b.handle as never));
}

/** The server an extra listener of this worker accepts on: a new plain listener of `server`, or a new one of the TLS listener. */
function serverFor(tls: boolean, server: HttpServer, workerTls: WorkerTls | undefined): net.Server | undefined {
  return tls ? workerTls?.listener.addServer() : server.addListener();
}

/**
 * A worker's side: listens on an extra socket from the primary once `ready`
 * (route modules loaded), before the main listener. False when `m` is not
 * such a message.
 */
export function onExtraListenMessage(m: { type?: string } | undefined, handle: unknown, server: HttpServer, workerTls: WorkerTls | undefined, ready: Promise<void>, onError: (err: NodeJS.ErrnoException) => void): boolean {
  const msg = m as ExtraListenMessage | undefined;
  if (msg?.type !== 'listen-extra') return false;
  const s = handle ? serverFor(msg.tls, server, workerTls) : undefined;
  if (s) {
    s.on('error', onError);
    void ready.then(() => s.listen(handle as object), () => undefined);
  }
  return true;
}

/** Unsupervised (--workers 0): binds every extra listener in this process, one after another, then calls `then`; exits 1 naming one that fails. */
export function listenExtraAlone(listeners: readonly ListenerConfig[], server: HttpServer, workerTls: WorkerTls | undefined, then: (bound: ListenerConfig[]) => void, fail: (text: string) => void): void {
  const bound: ListenerConfig[] = [];
  const next = (i: number) => {
    const l = listeners[i];
    if (l === undefined) return then(bound);
    const s = serverFor(l.tls, server, workerTls)!;
    s.once('error', (err: NodeJS.ErrnoException) => fail(extraListenErrorText(new ExtraListenError(l, err.code ?? 'EUNKNOWN', err.message))));
    s.listen({ port: l.port, host: l.host }, () => {
      bound.push({ ...l, port: (s.address() as net.AddressInfo).port });
      next(i + 1);
    });
  };
  next(0);
}

/** The `listeners` field of the `listening` log line: every URL served. */
export function listenerUrls(listeners: readonly ListenerConfig[]): { url: string; tls: boolean }[] {
  return listeners.map((l) => ({ url: `${l.tls ? 'https' : 'http'}://${formatAddress(l)}/`, tls: l.tls }));
}
