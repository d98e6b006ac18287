import type { Writable } from 'node:stream';
import type { StoredObject, Webroot } from '@webroot/format';
import { requireNative } from './native.js';

/** Chunk size for large bodies. Two chunks per response are in flight at most. */
export const CHUNK = 512 * 1024;

export type IoMode = 'sync' | 'stream' | 'async';
export const IO_MODES: readonly IoMode[] = ['sync', 'stream', 'async'];

/**
 * Chunk buffers are reused: a fresh buffer costs page faults on first touch
 * (measured: 41% of a 20 MB response's time went to read() filling new
 * buffers). A few free ones are kept; the rest are left to the GC.
 */
const freeChunks: Buffer[] = [];
const MAX_FREE_CHUNKS = 8;

const PAGE = 4096;
/** A chunk buffer holds CHUNK bytes at an offset of up to a page into it: see readWindow. */
const CHUNK_BUFFER = CHUNK + PAGE;

function takeChunk(): Buffer {
  return freeChunks.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BUFFER);
}

/** The addon's pageOffset (packages/httpd/native), when it loads. */
const pageOffset = ((): ((b: Buffer) => number) | undefined => {
  if (process.env.WEBROOT_PORTABLE_SOCKETS === '1') return undefined;
  try {
    const addon = requireNative<{ pageOffset: (b: Buffer) => number }>();
    return typeof addon.pageOffset === 'function' ? addon.pageOffset : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Where in chunk buffer `buf` to read file bytes that start at `fileOffset`: half a page away from the
 * source's offset in its page. read(2) copies out of the page cache with `rep movsb`, which on this VM's AMD
 * EPYC ran at about half speed when destination and source sat at nearly the same offset in their pages (4K
 * aliasing): malloc puts a large Buffer 16 bytes into a page, and a 20 MB object that mkroot had started at
 * a page boundary (FORMAT.md section 2) was pumped at 58 req/s against 103 one 1,000 bytes off it
 * (`bench/ab.sh`, `-c4`, packages/httpd/README.md). Without the addon: the buffer's start, as before.
 */
export function readWindow(buf: Buffer, fileOffset: number): Buffer {
  if (pageOffset === undefined || buf.length < CHUNK_BUFFER) return buf.subarray(0, CHUNK);
  const at = (((fileOffset % PAGE) + PAGE / 2 - pageOffset(buf)) % PAGE + PAGE) % PAGE;
  return buf.subarray(at, at + CHUNK);
}

function giveChunk(b: Buffer): void {
  if (freeChunks.length < MAX_FREE_CHUNKS) freeChunks.push(b);
}

/**
 * One IO mode: how bytes of a stored object get from the webroot file to the
 * socket. `read` fills a buffer (small bodies, cache fills); `pump` sends a
 * large range with backpressure and resolves when it has all been handed to
 * the socket (false if the socket closed first).
 */
export interface Executor {
  readonly mode: IoMode;
  /** Returns the bytes synchronously when the mode can, else a promise. */
  read(webroot: Webroot, object: StoredObject, start: number, end: number): Buffer | Promise<Buffer>;
  /** `prefix` (the response head, part headers) goes out in the same write as the first chunk. */
  pump(socket: Writable, webroot: Webroot, object: StoredObject, start: number, end: number, prefix?: Buffer[]): Promise<boolean>;
}

function shortRead(webroot: Webroot): Error {
  return new Error(`${webroot.file}: short read (file changed on disk?)`);
}

/** Resolves when `buf`'s write has left for the kernel: true if written, false if the socket failed. */
function writeChunk(socket: Writable, buf: Buffer): Promise<boolean> {
  return new Promise((resolve) => socket.write(buf, (err) => resolve(!err)));
}

/**
 * Double-buffered send of [start, end): while one chunk is being written, the
 * next is read into the other buffer; a buffer is refilled only after its
 * write completed. That is the backpressure: never more than two chunks queued.
 */
async function pumpWith(
  socket: Writable,
  end: number,
  start: number,
  /** Where the object starts in the file (absolute): readWindow. */
  fileOffset: number,
  prefix: Buffer[] | undefined,
  fill: (target: Buffer, pos: number, n: number) => number | Promise<number>,
): Promise<boolean> {
  const whole = [takeChunk(), takeChunk()];
  // Every read starts at the same offset in a page (CHUNK is a multiple of the page size).
  const bufs = whole.map((b) => readWindow(b, fileOffset + start));
  const inFlight: (Promise<boolean> | undefined)[] = [undefined, undefined];
  let ok = true;
  try {
    let i = 0;
    for (let pos = start; pos < end && ok; i ^= 1) {
      if (inFlight[i] && !(await inFlight[i])) {
        ok = false;
        break;
      }
      if (socket.destroyed) {
        ok = false;
        break;
      }
      const n = Math.min(CHUNK, end - pos);
      const got = await fill(bufs[i]!, pos, n);
      if (got !== n) throw new Error('short read');
      if (socket.destroyed) {
        ok = false;
        break;
      }
      const chunk = n === CHUNK ? bufs[i]! : bufs[i]!.subarray(0, n);
      if (prefix && prefix.length > 0) {
        // one writev for head and first chunk
        socket.cork();
        for (const b of prefix) socket.write(b);
        inFlight[i] = writeChunk(socket, chunk);
        socket.uncork();
        prefix = undefined;
      } else {
        inFlight[i] = writeChunk(socket, chunk);
      }
      pos += n;
    }
    for (const w of inFlight) if (w && !(await w)) ok = false;
  } finally {
    // Only buffers whose writes have finished may be reused.
    await Promise.all(inFlight.map((w) => w?.catch(() => false)));
    whole.forEach(giveChunk);
  }
  return ok && !socket.destroyed;
}

/** Positioned synchronous reads: the fastest on a warm page cache, no thread-pool hop. */
const syncExecutor: Executor = {
  mode: 'sync',
  read(webroot, object, start, end) {
    const buf = Buffer.allocUnsafe(end - start);
    if (webroot.readSync(object, start, end - start, buf) !== buf.length) throw shortRead(webroot);
    return buf;
  },
  pump(socket, webroot, object, start, end, prefix) {
    return pumpWith(socket, end, start, object.offset, prefix, (target, pos, n) => webroot.readSync(object, pos, n, target));
  },
};

/** Thread-pool reads (filehandle-style): the same double-buffered loop, each read a round trip to libuv's pool. */
const asyncExecutor: Executor = {
  mode: 'async',
  async read(webroot, object, start, end) {
    const buf = Buffer.allocUnsafe(end - start);
    if ((await webroot.read(object, start, end - start, buf)) !== buf.length) throw shortRead(webroot);
    return buf;
  },
  pump(socket, webroot, object, start, end, prefix) {
    return pumpWith(socket, end, start, object.offset, prefix, (target, pos, n) => webroot.read(object, pos, n, target));
  },
};

/**
 * Streams: a readable stream of the range (thread-pool positioned reads, one
 * chunk read ahead while the socket drains) written with the streams'
 * backpressure (pause when write() says the socket is full, resume on
 * 'drain'), not one awaited write at a time as sync and async do. Chunks come
 * from the same reused buffers as sync's, and each goes back to the pool when
 * its write has completed: fs.ReadStream's fresh buffer per chunk made this
 * mode 0.7x nginx on 20 MB (issue 15). The first chunk goes out only once it
 * has been read whole, so a range that cannot be read at all fails before
 * anything is written (and can still be a 500); a stream that ends short is
 * an error, never a silently short body.
 */
const streamExecutor: Executor = {
  mode: 'stream',
  read(webroot, object, start, end) {
    if (end <= start) return Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let total = 0;
      const rs = webroot.createReadStream(object, start, end - 1, { chunkSize: Math.min(CHUNK, end - start) });
      rs.on('data', (c: Buffer) => {
        parts.push(c);
        total += c.length;
      });
      rs.on('error', reject);
      rs.on('end', () => (total === end - start ? resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)) : reject(shortRead(webroot))));
    });
  },
  pump(socket, webroot, object, start, end, prefix) {
    return new Promise((resolve, reject) => {
      if (socket.destroyed) return resolve(false);
      const expected = end - start;
      // Each chunk in its own reused buffer, at readWindow's offset (chunks start CHUNK apart in the file).
      const rs = webroot.createReadStream(object, start, end - 1, { chunkSize: CHUNK, allocate: (size) => readWindow(takeChunk(), object.offset + start).subarray(0, size) });
      let total = 0;
      let writes = 0;
      let ended = false;
      let settled = false;
      const finish = (result: boolean | Error) => {
        if (settled) return;
        settled = true;
        socket.off('close', onClose);
        socket.off('drain', onDrain);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      // Resolve once every chunk has been handed to the kernel (or the socket failed).
      const written = (chunk: Buffer) => (err?: Error | null) => {
        writes--;
        // Only a buffer whose write has completed may be refilled: one that failed may still be referenced.
        if (!err && chunk.buffer.byteLength === CHUNK_BUFFER) giveChunk(Buffer.from(chunk.buffer, 0, CHUNK_BUFFER));
        if (err) {
          rs.destroy();
          finish(false);
        } else if (ended && writes === 0) finish(!socket.destroyed);
      };
      const onClose = () => {
        rs.destroy();
        finish(false);
      };
      const onDrain = () => rs.resume();
      socket.on('close', onClose);
      socket.on('drain', onDrain);
      let first = true;
      rs.on('data', (chunk: Buffer) => {
        total += chunk.length;
        writes++;
        let ok: boolean;
        if (first) {
          first = false;
          socket.cork(); // head and first chunk in one writev
          for (const b of prefix ?? []) socket.write(b);
          ok = socket.write(chunk, written(chunk));
          socket.uncork();
        } else {
          ok = socket.write(chunk, written(chunk));
        }
        if (!ok) rs.pause();
      });
      rs.on('error', (err) => finish(err));
      rs.on('end', () => {
        if (total !== expected) return finish(shortRead(webroot));
        ended = true;
        if (writes === 0) finish(!socket.destroyed);
      });
    });
  },
};

export function executorFor(mode: IoMode): Executor {
  return mode === 'sync' ? syncExecutor : mode === 'async' ? asyncExecutor : streamExecutor;
}
