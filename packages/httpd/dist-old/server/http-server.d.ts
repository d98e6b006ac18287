import net from 'node:net';
import { type ParseLimits } from '../http/parse-request.js';
import type { PlanConfig, SiteLookup } from '../http/plan.js';
import { type IoMode } from '../io/executors.js';
import type { Logger } from '../log.js';
import type { ServerContext, Timeouts } from './context.js';
export interface HttpServerOptions {
    sites: SiteLookup;
    io: IoMode;
    cacheBytes: number;
    plan: PlanConfig;
    timeouts: Timeouts;
    limits?: ParseLimits;
    log: Logger;
    accessLog?: ServerContext['accessLog'];
}
/** The static HTTP/1.1 server over `net`: one Connection per socket, sharing one context. */
export declare class HttpServer {
    readonly server: net.Server;
    private readonly ctx;
    private isDraining;
    constructor(options: HttpServerOptions);
    get connectionCount(): number;
    /** Stops accepting, closes idle connections, lets running responses finish for up to `timeoutMs`, then cuts the rest. */
    drain(timeoutMs: number): Promise<void>;
}
//# sourceMappingURL=http-server.d.ts.map