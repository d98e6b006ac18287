import net from 'node:net';

/**
 * Socket reads and writes that skip net.Socket's stream layers.
 *
 * Writes: a small response is one write to the kernel. Through `socket.write` it also
 * costs a WriteWrap made by the stream layer, the Writable bookkeeping and a
 * `process.nextTick` per write: about 1.5 µs of the ~20 µs a keep-alive 1 KB
 * response costs on this VM (CPU profile), which is most of what is left in
 * JavaScript. Here the bytes go to the socket's libuv handle directly, the way
 * Node's own stream layer hands them over (lib/internal/stream_base_commons.js):
 * the kernel usually takes them at once; when it cannot, libuv queues them
 * behind any earlier write, and `drained` runs when they are written.
 *
 *
 * Reads: by default every read allocates a 64 KiB buffer in C++ (malloc), wraps
 * it in an ArrayBuffer, and passes it through Readable.push and a 'data'
 * event. Accepted sockets are instead made with net.Socket's `onread` option:
 * every read lands in one shared buffer and goes straight to a callback, which
 * must copy whatever it keeps. Measured on a bare 1 KB responder here: 60k ->
 * 77k req/s.
 *
 * Both rely on Node internals: `process.binding('stream_wrap')`, the handle's
 * `writeBuffer`/`writeLatin1String`, a listening handle's `onconnection`, and
 * net.Socket's `handle` option (how Node's own server makes sockets). Each is
 * checked, and every miss falls back to the documented API: `socket.write`,
 * and Node's own accept. WEBROOT_PORTABLE_SOCKETS=1 forces the fallbacks (the
 * tests run both ways).
 */

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap?: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kReadBytesOrError?: number;
}

/** What a finished write reports to: destroyed on a failed write, else `drained` runs. */
export interface WriteOwner {
  readonly destroyed: boolean;
  destroy(): void;
}

interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  buffer?: Buffer | string;
  socket?: WriteOwner;
  drained?: () => void;
}

export interface ShutdownReq {
  handle: unknown;
  oncomplete: (this: ShutdownReq, status: number) => void;
  callback?: () => void;
}

export interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

const portable = process.env.WEBROOT_PORTABLE_SOCKETS === '1';

function loadBinding(): StreamWrapBinding | undefined {
  if (portable) return undefined;
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrapBinding;
  } catch {
    return undefined;
  }
}

const binding = loadBinding();

/** Whether the fast paths are on (false: every write is `socket.write`, every read a 'data' event). */
export const fastSockets = binding !== undefined;

/** Buffers that a write may still be reading, with how many writes. */
const writing = new Map<Buffer, number>();

function startWriting(b: Buffer): void {
  writing.set(b, (writing.get(b) ?? 0) + 1);
}

function doneWriting(b: Buffer): void {
  const n = writing.get(b)!;
  if (n <= 1) writing.delete(b);
  else writing.set(b, n - 1);
}

/** Whether a write made by `writeNow` may still read `b` (so `b` must not be modified yet). */
export function isBeingWritten(b: Buffer): boolean {
  return writing.has(b);
}

function onComplete(this: WriteReq, status: number): void {
  const socket = this.socket!;
  const drained = this.drained!;
  // TLS writes track no buffer (the TLSWrap has encrypted it during the call).
  if (this.buffer !== undefined && typeof this.buffer !== 'string') doneWriting(this.buffer);
  this.buffer = undefined;
  this.socket = undefined;
  this.drained = undefined;
  if (status < 0) socket.destroy();
  else if (!socket.destroyed) drained();
}

function handleOf(socket: net.Socket): StreamHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return handle && typeof handle.writeBuffer === 'function' && typeof handle.writeLatin1String === 'function' ? (handle as StreamHandle) : undefined;
}

/**
 * Writes `data` (a string is written as latin1). True when the kernel took it
 * all; false when it is queued: `drained` then runs once it is written (never,
 * if the socket fails first: the socket is destroyed instead).
 */
export function writeNow(socket: net.Socket, data: Buffer | string, drained: () => void): boolean {
  // Bytes still queued in the stream layer must go first: then the stream layer takes these too.
  const handle = binding !== undefined && socket.writableLength === 0 && !socket.destroyed ? handleOf(socket) : undefined;
  if (handle === undefined) {
    let queued: boolean;
    if (typeof data === 'string') queued = !socket.write(data, 'latin1');
    else {
      // The stream layer may hold the buffer after write() returns: it is in use until the callback.
      startWriting(data);
      queued = !socket.write(data, () => doneWriting(data));
    }
    if (!queued) return true;
    socket.once('drain', drained);
    return false;
  }
  return writeToHandle(handle, socket, data, drained);
}

/** `writeNow` on a libuv stream handle itself (`owner` is destroyed if the write fails). Fast paths only. */
export function writeToHandle(handle: StreamHandle, owner: WriteOwner, data: Buffer | string, drained: () => void): boolean {
  const req = new binding!.WriteWrap();
  req.handle = handle;
  req.oncomplete = onComplete;
  req.async = false;
  const err = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
  if (err !== 0) {
    owner.destroy();
    return false;
  }
  if (binding!.streamBaseState[binding!.kLastWriteWasAsync] === 0) return true;
  req.async = true;
  // Queued in libuv: keep the bytes alive until it reports the write done. A TLS handle has encrypted them
  // into its own buffer during the call (node's TLSWrap::DoWrite: SSL_write, or a copy while the handshake
  // runs), so they need not be kept: no per-response entry in `writing` over TLS.
  if (!isTlsHandle(handle)) {
    req.buffer = data;
    if (typeof data !== 'string') startWriting(data);
  }
  req.socket = owner;
  req.drained = drained;
  return false;
}

/** A TLSWrap (node:tls) has the TCP handle it writes to as `_parent` (lib/_tls_wrap.js, _wrapHandle). */
interface TlsHandle {
  _parent?: { writeQueueSize?: number } | null;
}

function isTlsHandle(handle: unknown): boolean {
  return typeof (handle as TlsHandle)._parent === 'object' && (handle as TlsHandle)._parent !== null;
}

/** The TCP handle under a TLS socket's TLSWrap (what socketWriteQueued reads), or undefined for any other socket. */
export function tlsTcpHandle(socket: net.Socket): { writeQueueSize?: number } | undefined {
  const handle = (socket as unknown as { _handle?: TlsHandle | null })._handle;
  return handle && isTlsHandle(handle) ? handle._parent! : undefined;
}

/**
 * Whether bytes handed to `socket` still wait outside the kernel: in the stream layer, in libuv's queue, or
 * (TLS) in the queue of the TCP handle under the TLSWrap. A TLS write is always reported done later, from
 * a setImmediate, even when the kernel took every byte at once ("Simulate asynchronous finishing" in
 * node's src/crypto/crypto_tls.cc, EncOut): this tells that case from a client that does not read.
 * True when this Node's handle says neither (then the caller watches the write as a queued one).
 */
export function socketWriteQueued(socket: net.Socket): boolean {
  if (socket.writableLength > 0) return true;
  const handle = (socket as unknown as { _handle?: (TlsHandle & { writeQueueSize?: number }) | null })._handle;
  if (!handle) return false;
  // A TLSWrap's own writeQueueSize counts its encrypted bytes until that late report: the TCP handle's is the kernel's.
  const queued = isTlsHandle(handle) ? handle._parent!.writeQueueSize : handle.writeQueueSize;
  return queued === undefined || queued > 0;
}

/** The stream binding's pieces that owning a handle needs beyond writes (handle-wire.ts), when this Node has them. */
export function handleBinding(): { ShutdownWrap: new () => ShutdownReq; streamBaseState: Int32Array; kReadBytesOrError: number } | undefined {
  if (binding === undefined || typeof binding.ShutdownWrap !== 'function' || typeof binding.kReadBytesOrError !== 'number') return undefined;
  return { ShutdownWrap: binding.ShutdownWrap, streamBaseState: binding.streamBaseState, kReadBytesOrError: binding.kReadBytesOrError };
}

/**
 * The request objects a stream handle's native writeBuffer and shutdown take (h2/fast-respond.ts writes small
 * HTTP/2 bodies with them), when this Node has them and the fast paths are on.
 */
export function streamRequests(): { WriteWrap: new () => object; ShutdownWrap: new () => object } | undefined {
  if (binding === undefined || typeof binding.ShutdownWrap !== 'function') return undefined;
  return { WriteWrap: binding.WriteWrap, ShutdownWrap: binding.ShutdownWrap };
}

/** Reads of every fast socket land here; a read is handled before the next one is made. */
export const SHARED_READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** Whether `chunk` is a view into the shared read buffer (and so must be copied to be kept). */
export function isSharedRead(chunk: Buffer): boolean {
  return chunk.buffer === SHARED_READ_BUFFER.buffer;
}

type OnConnection = (this: unknown, err: number, clientHandle?: unknown) => void;

/**
 * Puts `take` in front of a listening server's accept: each accepted handle goes
 * to `take`, and to Node's own handler when `take` returns false (or the accept
 * failed: Node emits that as the server's 'error'). False (nothing changed)
 * when the server's handle is not what this expects. Call once it listens.
 */
export function interceptAccept(server: net.Server, take: (clientHandle: unknown) => boolean): boolean {
  const handle = (server as unknown as { _handle?: { onconnection?: OnConnection } | null })._handle;
  const original = handle?.onconnection;
  if (!handle || typeof original !== 'function') return false;
  handle.onconnection = function (this: unknown, err: number, clientHandle?: unknown) {
    if (err || !take(clientHandle)) return original.call(this, err, clientHandle);
  };
  return true;
}

/**
 * Makes a listening server create its sockets with the shared read buffer:
 * `onSocket` gets each new socket and returns the function its reads go to.
 * Call once the server listens. Returns false (and changes nothing) when the
 * fast paths are off or the handle is not what this expects.
 */
export function acceptWithSharedReads(server: net.Server, onSocket: (socket: net.Socket) => (chunk: Buffer) => void): boolean {
  if (!fastSockets) return false;
  let working = true;
  return interceptAccept(server, (clientHandle) => {
    if (!working) return false;
    // Assigned once the socket exists; the read callback made before it refers to it.
    // eslint-disable-next-line prefer-const
    let deliver: ((chunk: Buffer) => void) | undefined;
    let socket: net.Socket;
    try {
      socket = socketOnHandle(clientHandle, (chunk) => deliver?.(chunk));
    } catch {
      // This Node makes sockets differently: hand this and every later connection to Node's own accept.
      working = false;
      return false;
    }
    deliver = onSocket(socket);
    return true;
  });
}

/**
 * A `net.Socket` over an accepted handle, its reads landing in the shared
 * buffer and going to `deliver` (as Node's own server makes its sockets, plus
 * `onread`). Throws when this Node did not take the handle.
 */
export function socketOnHandle(clientHandle: unknown, deliver: (chunk: Buffer) => void, readable = true): net.Socket {
  const options = {
    handle: clientHandle,
    // false: the client's side has ended already (its EOF was read), and the handle can no longer read.
    readable,
    writable: true,
    // As the server's own sockets (http-server.ts): a client's half-close does not end our side.
    allowHalfOpen: true,
    onread: { buffer: SHARED_READ_BUFFER, callback: (n: number) => deliver(SHARED_READ_BUFFER.subarray(0, n)) },
  };
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  if ((socket as unknown as { _handle?: unknown })._handle !== clientHandle) throw new Error('the handle was not taken');
  return socket;
}

/**
 * Moves the reads of a socket that already exists (a TLSSocket after its handshake) to the shared buffer:
 * each read goes to `deliver` instead of through Readable.push, a 'data' event and the nextTick of
 * Readable's maybeReadMore, which took about a tenth of a worker's time on HTTPS/1.1 keep-alive 1 KB
 * (CPU profile: packages/httpd/README.md). It is what net.Socket's `onread` option sets up
 * (`kBuffer`/`kBufferCb`, and the handle's `useUserBuffer`; lib/net.js), done after the fact; node's own
 * onStreamRead then calls `deliver`, and pause/resume stop and start the handle as for `onread` sockets.
 * Returns what the socket had already read into its Readable buffer (deliver it first), or undefined, with
 * nothing changed, when the fast paths are off or this Node's socket does not look like that.
 */
export function moveToSharedReads(socket: net.Socket, deliver: (chunk: Buffer) => void): Buffer[] | undefined {
  if (!fastSockets) return undefined;
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Buffer) => void } | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  const symbols = Object.getOwnPropertySymbols(socket);
  const kBuffer = symbols.find((s) => s.description === 'kBuffer');
  const kBufferCb = symbols.find((s) => s.description === 'kBufferCb');
  const kBufferGen = symbols.find((s) => s.description === 'kBufferGen');
  const own = socket as unknown as Record<symbol, unknown>;
  // Made without `onread`, a socket has all three, null (net.Socket's constructor).
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined || own[kBuffer] !== null || own[kBufferCb] !== null || own[kBufferGen] !== null) return undefined;
  const early: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) early.push(chunk);
  handle.useUserBuffer(SHARED_READ_BUFFER);
  own[kBuffer] = SHARED_READ_BUFFER;
  own[kBufferCb] = (n: number) => deliver(SHARED_READ_BUFFER.subarray(0, n));
  return early;
}
