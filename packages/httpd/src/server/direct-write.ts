import type net from 'node:net';

/**
 * Writes that skip net.Socket's Writable layer.
 *
 * A small response is one write to the kernel. Through `socket.write` it also
 * costs a WriteWrap made by the stream layer, the Writable bookkeeping and a
 * `process.nextTick` per write: about 1.5 µs of the ~20 µs a keep-alive 1 KB
 * response costs on this VM (CPU profile), which is most of what is left in
 * JavaScript. Here the bytes go to the socket's libuv handle directly, the way
 * Node's own stream layer hands them over (lib/internal/stream_base_commons.js):
 * the kernel usually takes them at once; when it cannot, libuv queues them
 * behind any earlier write, and `drained` runs when they are written.
 *
 * It relies on Node internals (`process.binding('stream_wrap')` and the
 * handle's `writeBuffer`/`writeLatin1String`), so everything is checked once
 * at load time and per socket, and every miss falls back to `socket.write`.
 * WEBROOT_PORTABLE_WRITES=1 forces the fallback (the tests run both).
 */

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  buffer?: Buffer | string;
  socket?: net.Socket;
  drained?: () => void;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

function loadBinding(): StreamWrapBinding | undefined {
  if (process.env.WEBROOT_PORTABLE_WRITES === '1') return undefined;
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrapBinding;
  } catch {
    return undefined;
  }
}

const binding = loadBinding();

/** Whether writes go to socket handles directly (false: every write is `socket.write`). */
export const directWrites = binding !== undefined;

function onComplete(this: WriteReq, status: number): void {
  const socket = this.socket!;
  const drained = this.drained!;
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
    if (typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data)) return true;
    socket.once('drain', drained);
    return false;
  }
  const req = new binding!.WriteWrap();
  req.handle = handle;
  req.oncomplete = onComplete;
  req.async = false;
  const err = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
  if (err !== 0) {
    socket.destroy();
    return false;
  }
  if (binding!.streamBaseState[binding!.kLastWriteWasAsync] === 0) return true;
  // Queued in libuv: keep the bytes alive until it reports the write done.
  req.async = true;
  req.buffer = data;
  req.socket = socket;
  req.drained = drained;
  return false;
}
