import type { IoMode } from './io/executors.js';
import type { LogLevel } from './log.js';
/** Everything a worker needs, validated once by the CLI and passed to workers as JSON. */
export interface HttpdConfig {
    vhostsDir: string;
    io: IoMode;
    port: number;
    host: string;
    workers: number;
    cacheBytes: number;
    cacheControl: string;
    autoindex: boolean;
    logLevel: LogLevel;
    accessLog?: string;
    rescanIntervalMs: number;
    /** Use fs.watch as a hint (off: rescan only on the timer and SIGHUP). */
    watch: boolean;
    headerTimeoutMs: number;
    keepAliveTimeoutMs: number;
    sendTimeoutMs: number;
    drainTimeoutMs: number;
}
export declare const CONFIG_ENV = "WEBROOT_HTTPD_CONFIG";
/** Parses sizes like 0, 4096, 512K, 64M, 1G (binary units). */
export declare function parseSize(value: string): number | undefined;
//# sourceMappingURL=config.d.ts.map