import http from 'node:http';
import type { Logger } from '../log.js';
import { errorFields } from '../log.js';

export interface AdminResponse {
  status: number;
  contentType: string;
  body: string;
}

/** A GET handler of the admin listener. */
export type AdminRoute = () => Promise<AdminResponse> | AdminResponse;

/**
 * The admin listener (`admin = "127.0.0.1:9180"`, off by default): a small
 * node:http server with exact-path GET routes. Others add theirs with
 * `route('/status', handler)`. Not the hot path, so node:http is fine here.
 */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();
  readonly server: http.Server;

  constructor(private readonly log: Logger) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  route(path: string, handler: AdminRoute): this {
    this.routes.set(path, handler);
    return this;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.routes.get(path);
    const send = (r: AdminResponse) => {
      res.writeHead(r.status, { 'Content-Type': r.contentType, 'Content-Length': Buffer.byteLength(r.body), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    };
    if (route === undefined) return send({ status: 404, contentType: 'text/plain; charset=utf-8', body: `not found; try ${[...this.routes.keys()].sort().join(', ')}\n` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send({ status: 405, contentType: 'text/plain; charset=utf-8', body: 'method not allowed\n' });
    }
    try {
      send(await route());
    } catch (err) {
      this.log.log('error', 'admin-failed', { path, ...errorFields(err) });
      send({ status: 500, contentType: 'text/plain; charset=utf-8', body: 'internal error\n' });
    }
  }

  /** `inheritedFd`: an already listening socket (systemd, or an upgrade's hand-over: cluster/service.ts) instead of binding. */
  listen(host: string, port: number, inheritedFd?: number): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const listening = () => {
        this.server.off('error', reject);
        const a = this.server.address() as { address: string; port: number };
        resolve({ address: a.address, port: a.port });
      };
      if (inheritedFd !== undefined) this.server.listen({ fd: inheritedFd }, listening);
      else this.server.listen(port, host, listening);
    });
  }

  /** The listening descriptor, handed to a new primary by an upgrade. */
  get fd(): number | undefined {
    return (this.server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
