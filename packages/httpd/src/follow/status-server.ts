import { AdminServer, type AdminRoute } from '../admin/admin-server.js';
import type { Logger } from '../log.js';
import type { NodeStatus } from './node-status.js';

/** The GET /status route: the node's status as JSON. For the --status listener, and added to the admin listener. */
export function statusRoute(status: () => Promise<NodeStatus>): AdminRoute {
  return async () => ({ status: 200, contentType: 'application/json', body: `${JSON.stringify(await status(), null, 2)}\n` });
}

/**
 * The `--status` listener: an admin server with the one route GET /status
 * (other paths 404, other methods 405; nothing from the request reaches a
 * header or the filesystem).
 */
export async function startStatusServer(host: string, port: number, status: () => Promise<NodeStatus>, log: Logger): Promise<{ server: AdminServer; url: string }> {
  const server = new AdminServer(log).route('/status', statusRoute(status));
  const a = await server.listen(host, port);
  return { server, url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/status` };
}
