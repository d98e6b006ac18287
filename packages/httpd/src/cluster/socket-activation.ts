import net from 'node:net';
import util from 'node:util';
import type { SocketHandle } from './listen-socket.js';

/** sd_listen_fds(3): passed descriptors start at 3 (SD_LISTEN_FDS_START). */
export const SD_LISTEN_FDS_START = 3;

/** A listening socket this process inherited, with the name its supervisor gave it. */
export interface InheritedFd {
  fd: number;
  name: string;
}

export type ListenFdsOutcome = { kind: 'none' } | { kind: 'fds'; fds: InheritedFd[] } | { kind: 'error'; message: string };

/**
 * The sd_listen_fds protocol (sd_listen_fds(3), "systemd.socket(5)"): LISTEN_PID must be
 * this process (else the variables were meant for someone else and are ignored, as
 * sd_listen_fds does), LISTEN_FDS counts descriptors from 3, and LISTEN_FDNAMES
 * optionally names them, colon-separated (FileDescriptorName= in the socket unit).
 * Pure: the caller passes the environment and its PID.
 */
export function parseListenFds(env: Record<string, string | undefined>, pid: number): ListenFdsOutcome {
  const count = env.LISTEN_FDS;
  if (count === undefined) return { kind: 'none' };
  if (env.LISTEN_PID === undefined || !/^\d+$/.test(env.LISTEN_PID) || Number(env.LISTEN_PID) !== pid) return { kind: 'none' };
  if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 64) {
    return { kind: 'error', message: `LISTEN_FDS=${JSON.stringify(count)} is not a count of sockets from 1 to 64; check the socket unit` };
  }
  const n = Number(count);
  const names = env.LISTEN_FDNAMES === undefined ? [] : env.LISTEN_FDNAMES.split(':');
  if (env.LISTEN_FDNAMES !== undefined && names.length !== n) {
    return { kind: 'error', message: `LISTEN_FDNAMES names ${names.length} sockets but LISTEN_FDS is ${n}; check the socket unit` };
  }
  // systemd names unnamed sockets "unknown" (sd_listen_fds_with_names(3)).
  return { kind: 'fds', fds: Array.from({ length: n }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' })) };
}

export type HttpSocketChoice = { kind: 'fd'; fd: InheritedFd } | { kind: 'error'; message: string };

/**
 * Which inherited socket serves plain HTTP: the only one, or the one named "http"
 * (FileDescriptorName=http) when there are several. Sockets with other names are
 * left to the listeners that claim them (e.g. "https").
 */
export function chooseHttpSocket(fds: InheritedFd[]): HttpSocketChoice {
  if (fds.length === 1) return { kind: 'fd', fd: fds[0]! };
  const http = fds.filter((f) => f.name === 'http');
  if (http.length === 1) return { kind: 'fd', fd: http[0]! };
  const names = fds.map((f) => `${f.fd}=${f.name}`).join(', ');
  if (http.length > 1) return { kind: 'error', message: `${http.length} inherited sockets are named "http" (${names}); this version serves HTTP on one socket: give the socket unit one ListenStream= for it` };
  return { kind: 'error', message: `${fds.length} inherited sockets (${names}) and none is named "http"; set FileDescriptorName=http on the socket to serve HTTP on` };
}

/** The sd_listen_fds variables are for this process only: workers and a new primary must not see them (sd_listen_fds' unset_environment). */
export function forgetListenEnv(env: NodeJS.ProcessEnv): void {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}

export class InheritedSocketError extends Error {
  readonly code = 'HTTPD_BAD_LISTEN_FD';
}

/**
 * Wraps an inherited descriptor in a Node TCP server handle, as node:cluster's
 * primary does for a bound one. It must be a listening TCP socket: a closed
 * descriptor, a file, a datagram or a unix socket is refused with a message
 * naming the fd.
 */
export function openInheritedSocket(fd: number): { handle: SocketHandle; address: string; port: number } {
  const create = (net as unknown as { _createServerHandle: (a: string | null, p: number | null, t: number | null, fd?: number) => SocketHandle | number })._createServerHandle;
  let handle: SocketHandle | number;
  try {
    handle = create(null, null, null, fd);
  } catch (err) {
    // ERR_INVALID_FD_TYPE: a file, a tty, a UDP socket...
    throw new InheritedSocketError(`fd ${fd} is not a stream socket (${(err as Error).message}); pass a listening TCP socket`);
  }
  if (typeof handle === 'number') {
    const code = util.getSystemErrorName(handle);
    // Node answers EINVAL for a descriptor that is closed, a file, a tty or a datagram socket.
    throw new InheritedSocketError(`fd ${fd} is not an open stream socket (${code}); pass a listening TCP socket`);
  }
  const out: { address?: string; port?: number } = {};
  // A unix socket's handle (a Pipe) has no getsockname. The workers, logs and access log assume TCP peers: refuse it.
  if (typeof handle.getsockname !== 'function') {
    handle.close();
    throw new InheritedSocketError(`fd ${fd} is a unix socket; httpd serves TCP sockets only: give the socket unit ListenStream=PORT or ADDRESS:PORT`);
  }
  const err = handle.getsockname(out);
  if (err < 0) {
    handle.close();
    throw new InheritedSocketError(`fd ${fd} is not a socket httpd can listen on (${util.getSystemErrorName(err)})`);
  }
  // A connected socket has a peer: listening on it would fail later, in every worker.
  const peer: { address?: string } = {};
  const h = handle as SocketHandle & { getpeername?: (o: object) => number };
  if (h.getpeername && h.getpeername(peer) === 0 && peer.address) {
    handle.close();
    throw new InheritedSocketError(`fd ${fd} is a connected socket, not a listening one`);
  }
  return { handle, address: out.address ?? '', port: out.port ?? 0 };
}
