import net from 'node:net';
import { DEFAULT_LIMITS } from '../http/parse-request.js';
import { executorFor } from '../io/executors.js';
import { ObjectCache } from '../io/object-cache.js';
import { Connection } from './connection.js';
/** The static HTTP/1.1 server over `net`: one Connection per socket, sharing one context. */
export class HttpServer {
    server;
    ctx;
    isDraining = false;
    constructor(options) {
        this.ctx = {
            sites: options.sites,
            plan: options.plan,
            limits: options.limits ?? DEFAULT_LIMITS,
            timeouts: options.timeouts,
            executor: executorFor(options.io),
            cache: new ObjectCache(options.cacheBytes),
            log: options.log,
            accessLog: options.accessLog,
            connections: new Set(),
            draining: () => this.isDraining,
            faultInjection: process.env.WEBROOT_FAULT_INJECTION === '1',
        };
        this.server = net.createServer({ noDelay: true }, (socket) => {
            if (this.isDraining)
                socket.destroy();
            else
                new Connection(socket, this.ctx);
        });
    }
    get connectionCount() {
        return this.ctx.connections.size;
    }
    /** Stops accepting, closes idle connections, lets running responses finish for up to `timeoutMs`, then cuts the rest. */
    drain(timeoutMs) {
        this.isDraining = true;
        this.server.close();
        for (const c of this.ctx.connections)
            c.shutdown();
        return new Promise((resolve) => {
            const deadline = Date.now() + timeoutMs;
            const check = () => {
                if (this.ctx.connections.size === 0)
                    return resolve();
                if (Date.now() >= deadline) {
                    for (const c of this.ctx.connections)
                        c.socket.destroy();
                    return resolve();
                }
                setTimeout(check, 20);
            };
            check();
        });
    }
}
//# sourceMappingURL=http-server.js.map