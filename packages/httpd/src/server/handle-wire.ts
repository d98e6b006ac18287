import type net from 'node:net';
import os from 'node:os';
import { handleBinding, interceptAccept, SHARED_READ_BUFFER, socketOnHandle, writeToHandle, type ShutdownReq, type StreamHandle } from './fast-socket.js';
import { sendfileSupport } from '../io/sendfile.js';

/** The longest head the sendfile addon takes as a string (its HEAD_TEXT_MAX, 16 KiB, less its terminator and a spare byte). */
const HEAD_TEXT_MAX = 16 * 1024 - 2;
import { SocketWire, socketKernelBytes, type Wire, type WireEvents } from './wire.js';
import { idleClock, type IdleWatched } from './idle-clock.js';

/**
 * A connection on the accepted libuv TCP handle itself, without a `net.Socket`.
 *
 * Under `ab -c 25` (a new connection per request) a `net.Socket` was the
 * largest cost in JavaScript: its constructor (Duplex, ReadableState,
 * WritableState, async ids) was a fifth of the worker's busy time and its
 * end/destroy machinery another eighth (CPU profile), while a bare responder
 * that owns the handle used ~70 µs of CPU per connection against ~120 µs for
 * the same responder on `net` (both pinned to one core, `ab -c 25`). This wire
 * does what Connection needs with the handle's own methods, as Node's stream
 * layer does underneath (lib/net.js, lib/internal/stream_base_commons.js):
 * `readStart`/`readStop` with reads into the shared buffer, `writeBuffer`/
 * `writeLatin1String`, `shutdown` (the half-close), `close`. Idle timeouts
 * are one sweep per worker over the wires that have one (idle-clock.ts), not a
 * timer per socket.
 *
 * A connection that needs a stream (a large body pumped with backpressure, a
 * dynamic route) gets a `net.Socket` built on the same handle at that moment
 * (`stream()`), and from then on the wire works through it.
 */

interface TcpHandle extends StreamHandle {
  /** Must stay a function (Node asserts it). */
  onread: (this: TcpHandle) => void;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  shutdown(req: ShutdownReq): number;
  close(callback?: () => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: { address?: string }): number;
  writeQueueSize: number;
  /** The socket's descriptor (-1 once closed). */
  readonly fd: number;
  [WIRE]?: HandleWire;
}

const WIRE = Symbol('webroot.wire');
const bindings = handleBinding();
// libuv's codes are negated errno values on Unix; UV_EOF is its own (-4095).
const UV_EOF = -4095;
const UV_ENOTCONN = -(os.constants.errno.ENOTCONN ?? 107);

/** Whether this Node lets the server own accepted handles (WEBROOT_PORTABLE_SOCKETS=1 or WEBROOT_SOCKET_OBJECTS=1: no). */
export const ownHandles = bindings !== undefined && process.env.WEBROOT_SOCKET_OBJECTS !== '1';


function onHandleRead(this: TcpHandle): void {
  const wire = this[WIRE];
  if (wire === undefined) return;
  const n = bindings!.streamBaseState[bindings!.kReadBytesOrError]!;
  if (n > 0) wire.received(n);
  else if (n === UV_EOF) wire.peerEnded();
  else if (n < 0) wire.destroy(); // ECONNRESET and the like
}

function ignoreRead(): void {}

function onShutdown(this: ShutdownReq, status: number): void {
  (this.handle as TcpHandle)[WIRE]?.shutDown(status);
}

export class HandleWire implements Wire, IdleWatched {
  destroyed = false;
  /** When the idle timeout expires (Date.now() ms), while `timeoutMs` > 0. */
  deadline = 0;
  timeoutMs = 0;
  /** A read or write since the last sweep. */
  active = false;
  private written = 0;
  private paused = false;
  private eof = false;
  private ending = false;
  private ended = false;
  private peer: string | undefined | null = null;
  /** Once a stream was needed: the socket built on this handle, which everything then goes through. */
  private socketWire: SocketWire | undefined;

  constructor(
    private readonly handle: TcpHandle,
    private readonly events: WireEvents,
  ) {
    handle[WIRE] = this;
    handle.onread = onHandleRead;
    handle.useUserBuffer(SHARED_READ_BUFFER);
    handle.setNoDelay(true);
    if (handle.readStart() !== 0) {
      // Closed before it could read (a reset during accept): close it, reporting as any other close.
      this.destroy();
    }
  }

  /** A read of `n` bytes into the shared buffer. */
  received(n: number): void {
    this.active = true;
    this.events.onData(SHARED_READ_BUFFER.subarray(0, n));
  }

  /** EOF: libuv stops reading by itself. */
  peerEnded(): void {
    this.eof = true;
    this.events.onEnd();
    // Both sides done (our half-close came first): as net.Socket's autoDestroy does.
    if (this.ended && !this.destroyed) this.destroy();
  }

  /** Our shutdown(2) has been done (or failed). */
  shutDown(status: number): void {
    this.ended = true;
    if (this.socketWire !== undefined) return;
    if (status < 0 || this.eof) this.destroy();
  }

  /** The idle deadline passed: tell the connection, and re-arm, as an idle socket's timer re-arms on its next activity. */
  expire(now: number): void {
    this.deadline = now + this.timeoutMs;
    this.events.onTimeout();
  }

  get remoteAddress(): string | undefined {
    if (this.socketWire !== undefined) return this.socketWire.remoteAddress;
    if (this.peer === null) {
      const out: { address?: string } = {};
      this.peer = !this.destroyed && this.handle.getpeername(out) === 0 ? out.address : undefined;
    }
    return this.peer;
  }

  get bytesWritten(): number {
    return this.written + (this.socketWire?.bytesWritten ?? 0);
  }

  write(data: Buffer | string, drained: () => void): boolean {
    if (this.socketWire !== undefined) return this.socketWire.write(data, drained);
    if (this.destroyed) return false;
    this.written += data.length; // a latin1 string: one byte a character
    this.active = true;
    return writeToHandle(this.handle, this, data, drained);
  }

  sendFile(fd: number, offset: number, length: number, head?: string): number | undefined {
    // Bytes still queued in libuv must reach the kernel first: the addon writes past libuv's queue.
    const support = sendfileSupport;
    if (support.kind !== 'on' || this.socketWire !== undefined || this.destroyed || this.ending || this.handle.writeQueueSize !== 0) return undefined;
    const sock = this.handle.fd;
    if (!(sock >= 0)) return undefined;
    // The addon copies a string head into a 16 KiB stack buffer; a longer head (many _headers fields) goes as a Buffer.
    const taken = support.addon.send(sock, fd, offset, length, head !== undefined && head.length >= HEAD_TEXT_MAX ? Buffer.from(head, 'latin1') : head);
    if (taken > 0) {
      this.written += taken;
      this.active = true;
    }
    return taken;
  }

  end(atOnce = false): void {
    if (this.socketWire !== undefined) return this.socketWire.end();
    if (this.ending || this.destroyed) return;
    // Every byte is with the kernel (none queued in libuv, which a close would cancel): close(2) sends them, then FIN.
    if (atOnce && this.handle.writeQueueSize === 0) return this.destroy();
    this.ending = true;
    const req = new bindings!.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = onShutdown;
    // libuv sends the FIN after any queued writes.
    const err = this.handle.shutdown(req);
    // 1: done at once; ENOTCONN: the peer is gone already (as net.Socket's _final treats them).
    if (err === 1 || err === UV_ENOTCONN) this.shutDown(0);
    else if (err !== 0) this.destroy();
  }

  destroy(): void {
    if (this.socketWire !== undefined) return this.socketWire.destroy();
    if (this.destroyed) return;
    this.destroyed = true;
    idleClock.remove(this);
    const handle = this.handle;
    handle.readStop();
    handle.onread = ignoreRead;
    handle[WIRE] = undefined;
    // Queued writes complete with ECANCELED (their owner is this wire: already destroyed).
    handle.close(() => this.events.onClose());
  }

  pause(): void {
    if (this.socketWire !== undefined) return this.socketWire.pause();
    if (this.paused) return;
    this.paused = true;
    if (!this.eof && !this.destroyed) this.handle.readStop();
  }

  resume(): void {
    if (this.socketWire !== undefined) return this.socketWire.resume();
    if (!this.paused) return;
    this.paused = false;
    if (!this.eof && !this.destroyed && this.handle.readStart() !== 0) this.destroy();
  }

  isPaused(): boolean {
    return this.socketWire !== undefined ? this.socketWire.isPaused() : this.paused;
  }

  setTimeout(ms: number): void {
    if (this.socketWire !== undefined) return this.socketWire.setTimeout(ms);
    if (this.destroyed) {
      this.timeoutMs = ms;
      return;
    }
    idleClock.set(this, ms);
  }

  kernelBytes(): number {
    if (this.socketWire !== undefined) return this.written + socketKernelBytes(this.socketWire.socket);
    return this.written - (this.destroyed ? 0 : this.handle.writeQueueSize);
  }

  writeQueued(): boolean {
    if (this.socketWire !== undefined) return this.socketWire.writeQueued();
    return !this.destroyed && this.handle.writeQueueSize > 0;
  }

  stream(): net.Socket {
    if (this.socketWire !== undefined) return this.socketWire.socket;
    if (this.destroyed) throw new Error('the connection is closed');
    idleClock.remove(this);
    // net.Socket starts reading itself; after an EOF the handle cannot read, and the socket is made with its readable side ended.
    if (!this.paused && !this.eof) this.handle.readStop();
    this.handle.onread = ignoreRead;
    this.handle[WIRE] = undefined;
    // Reads go through the socket wire (assigned just below; reads are events of a later turn), which flags them for its idle timeout.
    const socket = socketOnHandle(this.handle, (chunk) => this.socketWire?.received(chunk), !this.eof);
    this.socketWire = new SocketWire(socket, this.events, false);
    if (this.paused) socket.pause();
    if (this.timeoutMs > 0) this.socketWire.setTimeout(this.timeoutMs);
    return socket;
  }
}

/**
 * Makes a listening server hand each accepted handle to `onHandle` instead of
 * building a net.Socket. Call once the server listens. False (nothing
 * changed) when this Node does not allow it; the caller then uses
 * acceptWithSharedReads or Node's own accept.
 */
export function acceptHandles(server: net.Server, onHandle: (handle: unknown) => void): boolean {
  if (!ownHandles) return false;
  return interceptAccept(server, (clientHandle) => {
    if (!isTcpHandle(clientHandle)) return false;
    onHandle(clientHandle);
    return true;
  });
}

function isTcpHandle(h: unknown): h is TcpHandle {
  const t = h as Partial<TcpHandle> | undefined;
  return (
    t !== undefined &&
    typeof t.readStart === 'function' &&
    typeof t.readStop === 'function' &&
    typeof t.useUserBuffer === 'function' &&
    typeof t.shutdown === 'function' &&
    typeof t.close === 'function' &&
    typeof t.setNoDelay === 'function' &&
    typeof t.getpeername === 'function' &&
    typeof t.writeBuffer === 'function' &&
    typeof t.writeLatin1String === 'function'
  );
}

/** A wire for a handle accepted by `acceptHandles`. */
export function handleWire(handle: unknown, events: WireEvents): Wire {
  return new HandleWire(handle as TcpHandle, events);
}
