/** A bound TCP socket as Node represents it internally (a TCPWrap). */
export interface SocketHandle {
    getsockname(out: {
        address?: string;
        port?: number;
        family?: string;
    }): number;
    close(): void;
}
export declare class BindError extends Error {
    readonly code: string;
    constructor(code: string, message: string);
}
/**
 * Binds the listening socket in the primary without accepting on it. Workers
 * get it over IPC and call listen() on their copy, so it is one socket that
 * stays open as long as the primary lives: while no worker is alive (a crash
 * with --workers 1), the kernel queues new connections for the replacement
 * instead of refusing them. (node:cluster closes its shared socket when its
 * last worker exits, and re-binds `--port 0` to a different port.)
 *
 * Uses net._createServerHandle, the same call node:cluster's primary makes.
 */
export declare function bindListenSocket(host: string, port: number): Promise<{
    handle: SocketHandle;
    address: string;
    port: number;
}>;
//# sourceMappingURL=listen-socket.d.ts.map