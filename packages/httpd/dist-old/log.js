const ORDER = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(ORDER);
export function createLogger(level, write = (l) => process.stderr.write(l)) {
    // Workers are numbered by the primary (WEBROOT_WORKER_ID); the primary, or a lone process, is 0.
    const worker = Number(process.env.WEBROOT_WORKER_ID ?? 0);
    return {
        level,
        enabled: (l) => ORDER[l] >= ORDER[level],
        log(l, event, fields) {
            if (ORDER[l] < ORDER[level])
                return;
            write(`${JSON.stringify({ level: l, time: new Date().toISOString(), worker, pid: process.pid, event, ...fields })}\n`);
        },
    };
}
/** Message and code of an error, for a log field. */
export function errorFields(err) {
    const e = err;
    return e && typeof e === 'object' ? { error: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) } : { error: String(err) };
}
//# sourceMappingURL=log.js.map