import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeStatus } from './node-status.js';

/**
 * The `--status` listener: `GET /status` answers the node's status as JSON.
 * Its own small server until it joins the admin listener; nothing else is
 * served, and nothing from the request reaches a header or the filesystem.
 */
export function startStatusServer(host: string, port: number, status: () => Promise<NodeStatus>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...(code === 405 ? { allow: 'GET, HEAD' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/status') return reply(404, 'not found: the status listener answers GET /status\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    status().then(
      (s) => reply(200, `${JSON.stringify(s, null, 2)}\n`, 'application/json'),
      (err: Error) => reply(500, `status failed: ${err.message}\n`),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function statusUrl(server: http.Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/status`;
}
