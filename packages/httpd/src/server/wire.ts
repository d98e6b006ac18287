import type net from 'node:net';
import { socketWriteQueued, tlsTcpHandle, writeNow } from './fast-socket.js';
import { idleClock, type IdleWatched } from './idle-clock.js';

/** What a Connection hears from its wire. */
export interface WireEvents {
  /** Bytes read; may be a view into a shared read buffer, valid only during the call. */
  onData(chunk: Buffer): void;
  /** The client shut down its sending side (EOF). */
  onEnd(): void;
  /** The idle timeout set with `setTimeout` expired. */
  onTimeout(): void;
  /** The connection is closed; nothing more happens on it. */
  onClose(): void;
}

/**
 * The byte transport under one HTTP/1.1 connection: what Connection needs of
 * a socket, and no more. Two kinds: `SocketWire` over a `net.Socket` (TLS
 * sockets, the portable fallback, and any connection that needs a stream),
 * and `HandleWire` (handle-wire.ts) over the accepted libuv handle itself,
 * which makes a new connection cost no `net.Socket`.
 */
export interface Wire {
  readonly destroyed: boolean;
  readonly remoteAddress: string | undefined;
  /** Bytes handed to the kernel or queued for it so far. */
  readonly bytesWritten: number;
  /** Writes `data` (a string as latin1): true if the kernel took it all, else `drained` runs once it has. */
  write(data: Buffer | string, drained: () => void): boolean;
  /**
   * Half-close: our side is done sending; the connection closes once the client's side has ended too.
   * `atOnce`: the client asked for the close and sent nothing more, so the connection may be closed as soon as
   * every byte is with the kernel (a wire that cannot do that half-closes as usual).
   */
  end(atOnce?: boolean): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  /** The idle timeout: `onTimeout` after `ms` without reads or writes; 0 turns it off. */
  setTimeout(ms: number): void;
  /** Bytes the kernel has taken: handed over, less what still waits in a queue (the send-timeout watch). */
  kernelBytes(): number;
  /**
   * sendfile(2) (io/sendfile.ts): `head`, then `length` bytes of file `fd` from `offset`, straight into the
   * socket, without waiting. Returns the bytes the kernel took (head included), a negative -errno, or
   * undefined when the wire cannot do it now (no addon, a TLS or stream wire, writes still queued ahead).
   * Absent on wires that never can.
   */
  sendFile?(fd: number, offset: number, length: number, head?: string): number | undefined;
  /**
   * Whether bytes handed over still wait for the kernel. After a write that returned false, false here means
   * the kernel has them all and only the report is late (a TLS socket reports every write done from a
   * setImmediate): `drained` then runs without waiting on the client.
   */
  writeQueued(): boolean;
  /** A `net.Socket` for code that needs a stream (large bodies, dynamic routes); the wire keeps working through it. */
  stream(): net.Socket;
}

/** Bytes the kernel has taken from `socket`: handed to the handle, less what still waits in libuv's queue. */
export function socketKernelBytes(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } | null })._handle;
  return socket.bytesWritten - socket.writableLength - (handle?.writeQueueSize ?? 0);
}

/**
 * A wire over a `net.Socket`. `listenToData`: its reads arrive as 'data'
 * events (false when the socket was made with an `onread` callback, or moved
 * to the shared read buffer, whose reads the caller hands to `received`).
 * Idle timeouts are the worker's sweep (idle-clock.ts), not the socket's own
 * timer, which node refreshes on every read and write.
 */
export class SocketWire implements Wire, IdleWatched {
  active = false;
  deadline = 0;
  timeoutMs = 0;
  /** A TLS socket's TCP handle (under its TLSWrap), read for writeQueued; undefined for other sockets. */
  private readonly tcp: { writeQueueSize?: number } | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly events: WireEvents,
    listenToData = true,
  ) {
    socket.setNoDelay(true);
    this.tcp = tlsTcpHandle(socket);
    if (listenToData) socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => events.onEnd());
    socket.on('close', () => {
      idleClock.remove(this);
      events.onClose();
    });
  }

  /** A read (a 'data' chunk, or a view into the shared read buffer valid only during the call). */
  received(chunk: Buffer): void {
    this.active = true;
    this.events.onData(chunk);
  }

  expire(now: number): void {
    // Destroyed, its 'close' not yet emitted (node emits it a tick later): nothing to time out.
    if (this.socket.destroyed) return idleClock.remove(this);
    this.deadline = now + this.timeoutMs;
    this.events.onTimeout();
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  write(data: Buffer | string, drained: () => void): boolean {
    this.active = true;
    return writeNow(this.socket, data, drained);
  }

  end(): void {
    // A second end() would build an ERR_STREAM_ALREADY_FINISHED error, stack and all.
    if (!this.socket.writableEnded) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  isPaused(): boolean {
    return this.socket.isPaused();
  }

  setTimeout(ms: number): void {
    if (this.socket.destroyed) {
      this.timeoutMs = ms;
      return;
    }
    idleClock.set(this, ms);
  }

  kernelBytes(): number {
    return socketKernelBytes(this.socket);
  }

  writeQueued(): boolean {
    // A TLS socket whose stream layer holds nothing: only the TCP handle's queue tells (see socketWriteQueued).
    const tcp = this.tcp;
    if (tcp !== undefined && tcp.writeQueueSize !== undefined && this.socket.writableLength === 0) return tcp.writeQueueSize > 0;
    return socketWriteQueued(this.socket);
  }

  stream(): net.Socket {
    return this.socket;
  }
}
