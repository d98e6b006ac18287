/** Structured logs: one JSON object per line on stderr, with level, time, worker and event. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export declare const LOG_LEVELS: LogLevel[];
export interface Logger {
    level: LogLevel;
    log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
    enabled(level: LogLevel): boolean;
}
export declare function createLogger(level: LogLevel, write?: (line: string) => void): Logger;
/** Message and code of an error, for a log field. */
export declare function errorFields(err: unknown): {
    error: string;
    code?: string;
};
//# sourceMappingURL=log.d.ts.map