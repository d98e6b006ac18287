import http2 from 'node:http2';
import type { RawResponse } from './raw.js';

/** An HTTP/2 client session over TLS with ALPN h2 (certificate not verified), ready once connected. */
export async function h2Connect(port: number, servername = 'localhost'): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false, ALPNProtocols: ['h2'] } as http2.SecureClientSessionOptions);
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** One request on `session`, collected whole, in the shape of the raw HTTP/1.1 client's responses. */
export function h2Request(session: http2.ClientHttp2Session, method: string, path: string, headers: Record<string, string> = {}, authority = 'localhost', timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path, ':authority': authority, ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) }, { endStream: true });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no complete HTTP/2 response to ${method} ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    const chunks: Buffer[] = [];
    let status = 0;
    const out: Record<string, string> = {};
    const names: string[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      for (const [k, v] of Object.entries(h)) {
        if (k.startsWith(':')) continue;
        names.push(k);
        out[k] = Array.isArray(v) ? v.join(', ') : String(v);
      }
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      clearTimeout(timer);
      resolve({ status, statusLine: `HTTP/2 ${status}`, headers: out, headerNames: names, body: Buffer.concat(chunks) });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
