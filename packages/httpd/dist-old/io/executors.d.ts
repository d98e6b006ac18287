import type net from 'node:net';
import type { StoredObject, Webroot } from '@webroot/format';
/** Chunk size for large bodies; each chunk is written, and the next read waits for drain when the socket is full. */
export declare const CHUNK: number;
export type IoMode = 'sync' | 'stream' | 'async';
export declare const IO_MODES: readonly IoMode[];
/** Resolves true on 'drain', false if the socket closes first. */
export declare function waitDrain(socket: net.Socket): Promise<boolean>;
/**
 * One IO mode: how bytes of a stored object get from the webroot file to the
 * socket. `read` fills a buffer (small bodies, cache fills); `pump` sends a
 * large range with backpressure and resolves when it has all been written
 * (false if the socket closed first).
 */
export interface Executor {
    readonly mode: IoMode;
    /** Returns the bytes synchronously when the mode can, else a promise. */
    read(webroot: Webroot, object: StoredObject, start: number, end: number): Buffer | Promise<Buffer>;
    pump(socket: net.Socket, webroot: Webroot, object: StoredObject, start: number, end: number): Promise<boolean>;
}
export declare function executorFor(mode: IoMode): Executor;
//# sourceMappingURL=executors.d.ts.map