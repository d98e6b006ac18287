import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface ChannelServer {
  url: string;
  /** One line per request: method, name, Range and If-Range headers, status. */
  log: { method: string; name: string; range?: string; ifRange?: string; status: number }[];
  close(): Promise<void>;
}

/**
 * A small static HTTP server over a channel directory, for the tests of
 * publishing by PUT and of following on loopback: GET and HEAD with ETag,
 * If-None-Match, single Range and If-Range; PUT (when `acceptPut`) writes
 * atomically. Only flat names, never a path outside `dir`.
 */
export async function startChannelServer(dir: string, opts: { acceptPut?: boolean; cutOnce?: { suffix: string; afterBytes: number } } = {}): Promise<ChannelServer> {
  const log: ChannelServer['log'] = [];
  let cut = opts.cutOnce;
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.slice(1));
    const entry = { method: req.method ?? '', name, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined, status: 0 };
    log.push(entry);
    const end = (status: number, body?: Buffer | string) => {
      entry.status = status;
      res.statusCode = status;
      res.end(body);
    };
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return end(404);
    const file = path.join(dir, name);
    if (req.method === 'PUT') {
      if (!opts.acceptPut) return end(405);
      const tmp = path.join(dir, `.put-${process.pid}-${Math.random().toString(36).slice(2)}`);
      const out = fs.createWriteStream(tmp);
      req.pipe(out);
      out.on('finish', () => {
        fs.renameSync(tmp, file);
        end(201);
      });
      return;
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return end(404);
    }
    // Small files (manifests, rewritten in place within a millisecond by the tests) get a content hash; others size-mtime-inode.
    const etag =
      stat.size < 65536
        ? `"${crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16)}"`
        : `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}-${stat.ino.toString(16)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Accept-Ranges', 'bytes');
    if (req.headers['if-none-match'] === etag) return end(304);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const rangeOk = m && (req.headers['if-range'] === undefined || req.headers['if-range'] === etag) && Number(m[1]) < stat.size;
    const start = rangeOk ? Number(m[1]) : 0;
    if (rangeOk) res.setHeader('Content-Range', `bytes ${start}-${stat.size - 1}/${stat.size}`);
    res.setHeader('Content-Length', String(stat.size - start));
    entry.status = rangeOk ? 206 : 200;
    res.statusCode = entry.status;
    if (req.method === 'HEAD') return res.end();
    if (cut && name.endsWith(cut.suffix)) {
      // A connection lost mid-body, once: send the first bytes, then reset.
      const { afterBytes } = cut;
      cut = undefined;
      const part = Buffer.alloc(afterBytes);
      const fd = fs.openSync(file, 'r');
      fs.readSync(fd, part, 0, afterBytes, start);
      fs.closeSync(fd);
      res.write(part, () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    fs.createReadStream(file, { start }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every file of a directory with its bytes: to assert that nothing in it changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of fs.readdirSync(dir).sort()) out[n] = fs.readFileSync(path.join(dir, n)).toString('base64');
  return out;
}

/** GET with a Host header of our choosing (fetch does not let a caller set Host), on 127.0.0.1 unless `address` is given. */
export function getWithHost(port: number, host: string, target: string, address = '127.0.0.1', timeoutMs = 5000): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port, path: target, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
