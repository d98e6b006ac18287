import { type HttpdConfig } from '../config.js';
/**
 * Supervises `config.workers` worker processes that all accept on one
 * listening socket bound here (see listen-socket.ts). A dead worker is replaced
 * at once; repeated deaths back off exponentially and are logged as a crash
 * loop. SIGTERM/SIGINT drain every worker and exit 0; SIGHUP makes every
 * worker rescan.
 */
export declare function runPrimary(config: HttpdConfig): Promise<void>;
//# sourceMappingURL=primary.d.ts.map