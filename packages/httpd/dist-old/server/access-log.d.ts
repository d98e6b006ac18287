import type net from 'node:net';
import type { RequestHead } from '../http/parse-request.js';
/** One line of the combined log format. */
export declare function combinedLine(remote: string | undefined, head: RequestHead | null, status: number, bytes: number, when?: Date): string;
/** An access logger writing to a file (appending) or to standard output for '-'. */
export declare function openAccessLog(target: string): {
    write: (socket: net.Socket, head: RequestHead | null, status: number, bytes: number) => void;
    close: () => void;
};
//# sourceMappingURL=access-log.d.ts.map