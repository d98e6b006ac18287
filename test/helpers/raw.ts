import net from 'node:net';
import tls from 'node:tls';

/**
 * Where a raw client connects: a plain port, or a TLS port (HTTP/1.1 over TLS,
 * ALPN http/1.1, SNI `servername`, the certificate not verified: the matrix
 * tests HTTP, the TLS tests check certificates themselves).
 */
export type Endpoint = number | { port: number; tls: true; servername?: string };

/** A socket to `ep` on 127.0.0.1; write to it at once (TLS buffers until its handshake is done). */
export function connectTo(ep: Endpoint): net.Socket {
  if (typeof ep === 'number') return net.connect(ep, '127.0.0.1');
  return tls.connect({ port: ep.port, host: '127.0.0.1', servername: ep.servername ?? 'localhost', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
}

export interface RawResponse {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  /** Header names in the order received, lower case, with repeats. */
  headerNames: string[];
  body: Buffer;
}

/**
 * Splits a byte stream into HTTP/1.1 responses. `noBody[i]` marks responses
 * to HEAD (whose Content-Length describes a body that is not sent).
 */
export function parseResponses(data: Buffer, noBody: boolean[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end === -1) throw new Error(`incomplete response head at byte ${pos}: ${JSON.stringify(data.subarray(pos).toString('latin1').slice(0, 200))}`);
    const lines = data.toString('latin1', pos, end).split('\r\n');
    const statusLine = lines[0]!;
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    const headerNames: string[] = [];
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const name = l.slice(0, c).toLowerCase();
      headerNames.push(name);
      headers[name] = l.slice(c + 1).trim();
    }
    pos = end + 4;
    const idx = out.length;
    const hasBody = !(noBody[idx] ?? false) && status !== 304 && status !== 204 && !(status >= 100 && status < 200);
    const len = hasBody && headers['content-length'] !== undefined ? Number(headers['content-length']) : 0;
    const body = data.subarray(pos, pos + len);
    if (body.length < len) throw new Error(`short body: ${body.length} of ${len}`);
    pos += len;
    out.push({ status, statusLine, headers, headerNames, body });
  }
  return out;
}

/** Sends raw bytes and collects everything until the server closes (or `timeoutMs`). */
export function rawExchange(port: Endpoint, request: string | Buffer, timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connectTo(port);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') resolve({ data: Buffer.concat(chunks), closed: true });
      else reject(e);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
  });
}

/** One raw request expecting `count` responses (keep-alive: it waits until they are all in, not for close). */
export function rawRequests(port: Endpoint, request: string | Buffer, count: number, noBody: boolean[] = [], timeoutMs = 5000): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const socket = connectTo(port);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out waiting for ${count} responses; got ${JSON.stringify(data.toString('latin1').slice(0, 500))}`));
    }, timeoutMs);
    const tryParse = (final: boolean) => {
      try {
        const rs = parseResponses(data, noBody);
        if (rs.length >= count) {
          clearTimeout(timer);
          socket.destroy();
          resolve(rs);
          return;
        }
      } catch (e) {
        if (final) {
          clearTimeout(timer);
          reject(e);
        }
        return;
      }
      if (final) {
        clearTimeout(timer);
        reject(new Error(`connection closed after fewer than ${count} responses`));
      }
    };
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('error', reject);
  });
}

/** A single GET/HEAD over a raw socket, with `Connection: close`. */
export async function raw(port: Endpoint, method: string, target: string, headers: Record<string, string> = {}, host = 'localhost'): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close', '', ''];
  const { data } = await rawExchange(port, lines.join('\r\n'));
  const [r] = parseResponses(data, [method === 'HEAD']);
  if (!r) throw new Error(`no response to ${method} ${target}`);
  return r;
}

/** Sequential requests over one keep-alive connection. */
export class KeepAliveClient {
  private socket: net.Socket;
  private data = Buffer.alloc(0);
  private waiter?: { noBody: boolean; resolve: (r: RawResponse) => void; reject: (e: Error) => void };
  private closedError?: Error;

  constructor(port: Endpoint) {
    this.socket = connectTo(port);
    this.socket.on('data', (c: Buffer) => {
      this.data = Buffer.concat([this.data, c]);
      this.pump();
    });
    const fail = (e: Error) => {
      this.closedError = e;
      this.waiter?.reject(e);
      this.waiter = undefined;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  private pump(): void {
    if (!this.waiter) return;
    const end = this.data.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = this.data.toString('latin1', 0, end);
    const m = /\r\ncontent-length: (\d+)/i.exec(head);
    const status = Number(head.split(' ')[1]);
    const len = this.waiter.noBody || status === 304 || status === 204 ? 0 : m ? Number(m[1]) : 0;
    if (this.data.length < end + 4 + len) return;
    const [r] = parseResponses(this.data.subarray(0, end + 4 + len), [this.waiter.noBody]);
    this.data = this.data.subarray(end + 4 + len);
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(r!);
  }

  request(method: string, target: string, headers: Record<string, string> = {}, host = 'localhost'): Promise<RawResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiter = { noBody: method === 'HEAD', resolve, reject };
      const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      this.socket.write(lines.join('\r\n'));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
