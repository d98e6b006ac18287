import type net from 'node:net';
import type { ServerContext } from './context.js';
/** Bodies up to this size are gathered into one buffer with the head: one write, one syscall. */
export declare const SMALL_BODY: number;
/**
 * One client connection: parses request heads as bytes arrive, answers them
 * strictly in order (pipelining), and applies the header, idle and send timeouts.
 */
export declare class Connection {
    readonly socket: net.Socket;
    private readonly ctx;
    private buf;
    private busy;
    private closing;
    private inLoop;
    private skip;
    /** When the first byte of the request head being received arrived (0: none pending). */
    private headStart;
    /** The socket timeout is the header timeout while a partial head is pending. */
    private awaitingHead;
    constructor(socket: net.Socket, ctx: ServerContext);
    get idle(): boolean;
    /** Closes now if idle, else after the response in progress. */
    shutdown(): void;
    private onData;
    private onTimeout;
    private process;
    private handle;
    private send;
    /** Head and body in one buffer, one write; reads that the mode cannot do synchronously are awaited first. */
    private sendSmall;
    private sendLarge;
    private finish;
}
//# sourceMappingURL=connection.d.ts.map