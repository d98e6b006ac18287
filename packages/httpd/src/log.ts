/** Structured logs: one JSON object per line on stderr, with level, time, worker and event. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

export interface Logger {
  level: LogLevel;
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  // Workers are numbered by the primary (WEBROOT_WORKER_ID); the primary, or a lone process, is 0.
  const worker = Number(process.env.WEBROOT_WORKER_ID ?? 0);
  // `level` may be changed later (a configuration reload): log() reads the property.
  const logger: Logger = {
    level,
    log(l, event, fields) {
      if (ORDER[l] < ORDER[logger.level]) return;
      write(`${JSON.stringify({ level: l, time: new Date().toISOString(), worker, pid: process.pid, event, ...fields })}\n`);
    },
  };
  return logger;
}

/** Message and code of an error, for a log field. */
export function errorFields(err: unknown): { error: string; code?: string } {
  const e = err as { message?: string; code?: string };
  return e && typeof e === 'object' ? { error: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) } : { error: String(err) };
}
