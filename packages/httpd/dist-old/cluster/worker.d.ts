import type { AddressInfo } from 'node:net';
import type { HttpdConfig } from '../config.js';
export type WorkerMessage = {
    type: 'listening';
    address: string;
    port: number;
} | {
    type: 'listen-error';
    code: string;
    message: string;
};
export type PrimaryMessage = {
    type: 'listen';
} | {
    type: 'rescan';
} | {
    type: 'drain';
};
/**
 * Runs one serving process: the vhost registry (watching for swaps), the HTTP
 * server, and the handlers that drain it. Supervised (forked by the primary,
 * which sends the listening socket) or alone (`--workers 0`, binds itself).
 */
export declare function runWorker(config: HttpdConfig, onListening?: (address: AddressInfo) => void): void;
export declare function listenErrorText(config: HttpdConfig, code: string, message: string): string;
//# sourceMappingURL=worker.d.ts.map