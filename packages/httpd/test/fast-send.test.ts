/**
 * h2/fast-respond.ts `send`: a whole small body written to the native HTTP/2 stream with END_STREAM, past
 * node's Writable, checked over a real HTTP/2 session (cleartext, loopback) against node's own
 * `respond` + `end(buffer)`: the same fields and bytes, END_STREAM on the last DATA frame (RFC 9113 section
 * 8.1), every server stream closed and destroyed afterwards, and clients that reset a stream or drop the
 * connection while the body is still queued behind flow control (RFC 9113 section 6.9) leave a server that
 * goes on serving.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastRespond, headerBlock } from '../src/h2/fast-respond.js';

const portable = process.env.WEBROOT_PORTABLE_SOCKETS === '1';
if (portable) console.log('fast-send.test.ts: WEBROOT_PORTABLE_SOCKETS=1 turns the native path off; checking the same answers through end(buffer)');

const SMALL = Buffer.from('hello, world\n');
/** Larger than the client windows used below, so most of it waits in the native stream's queue. */
const LARGE = Buffer.alloc(200 * 1024, 'x');
const blockOf = (body: Buffer) => headerBlock({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': body.length, etag: '"e"', server: 'webroot' });

interface Answered {
  stream: http2.ServerHttp2Stream;
  /** writableLength right after the response was handed over: 0 when the body went past the Writable. */
  queuedInWritable: number;
  closed: Promise<number>;
}

describe('FastRespond.send over a real HTTP/2 session', () => {
  let server: http2.Http2Server;
  let port = 0;
  let client: http2.ClientHttp2Session;
  const fast = new FastRespond();
  const answered = new Map<string, Answered>();

  beforeAll(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const path = String(headers[':path']);
      const closed = new Promise<number>((resolve) => stream.on('close', () => resolve(stream.rstCode)));
      const body = path.includes('large') ? LARGE : SMALL;
      if (path.startsWith('/node')) {
        stream.respond(blockOf(body).headers);
        stream.end(body);
      } else fast.send(stream, blockOf(body), body);
      answered.set(path, { stream, queuedInWritable: stream.writableLength, closed });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
  });
  afterAll(() => {
    client?.close();
    server?.close();
  });

  interface Got {
    headers: http2.IncomingHttpHeaders;
    body: Buffer;
  }
  const get = (session: http2.ClientHttp2Session, path: string, endStream = true): { req: http2.ClientHttp2Stream; done: Promise<Got> } => {
    const req = session.request({ ':path': path, ':method': endStream ? 'GET' : 'POST' }, { endStream });
    const done = new Promise<Got>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (headers = h));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      setTimeout(() => reject(new Error(`no answer to ${path}`)), 5000).unref();
    });
    return { req, done };
  };
  const withoutDate = ({ date: _date, ...rest }: http2.IncomingHttpHeaders) => rest;

  it('the first stream teaches the fast path (through respond + end(buffer)); later bodies go to the native stream', async () => {
    expect(fast.sendsNatively).toBe(false);
    expect((await get(client, '/fast-first').done).body.equals(SMALL)).toBe(true);
    expect(answered.get('/fast-first')!.queuedInWritable).toBe(SMALL.length);
    expect(fast.sendsNatively).toBe(!portable);
  });

  it('a 200 with a body: the same fields and bytes as respond + end(buffer), ended by END_STREAM (RFC 9113 section 8.1), the server stream closed cleanly', async () => {
    const mine = await get(client, '/fast-200').done;
    const node = await get(client, '/node-200').done;
    expect(withoutDate(mine.headers)).toEqual(withoutDate(node.headers));
    expect(mine.body.equals(SMALL)).toBe(true);
    const a = answered.get('/fast-200')!;
    // Past the Writable: nothing of the body was ever queued in it.
    expect(a.queuedInWritable).toBe(portable ? SMALL.length : 0);
    expect(await a.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(a.stream.destroyed).toBe(true);
    expect(a.stream.writableFinished).toBe(true);
  });

  it('a body larger than the flow-control window arrives whole as the client opens the window (RFC 9113 section 6.9)', async () => {
    const small = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1024 } });
    small.on('error', () => {});
    try {
      const got = await get(small, '/fast-large').done;
      expect(got.body.equals(LARGE)).toBe(true);
      expect(await answered.get('/fast-large')!.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      small.close();
    }
  });

  it('a request whose body has not ended (no END_STREAM yet) is answered through end(buffer), and the client can still finish it', async () => {
    const { req, done } = get(client, '/fast-open-request', false);
    const got = await Promise.race([done, new Promise<Got>((resolve) => req.once('response', (headers) => resolve({ headers, body: Buffer.alloc(0) })))]);
    expect(got.headers[':status']).toBe(200);
    expect(answered.get('/fast-open-request')!.queuedInWritable).toBe(SMALL.length);
    req.end();
    expect((await done).body.equals(SMALL)).toBe(true);
    expect(await answered.get('/fast-open-request')!.closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });

  it('a stream reset by the client while its body waits in the native queue closes with the client code; the session goes on', async () => {
    const small = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1024 } });
    small.on('error', () => {});
    try {
      const { req, done } = get(small, '/fast-large-reset');
      done.catch(() => {});
      await new Promise((resolve) => req.once('data', resolve));
      req.close(http2.constants.NGHTTP2_CANCEL);
      const a = answered.get('/fast-large-reset')!;
      expect(await a.closed).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(a.stream.destroyed).toBe(true);
      expect((await get(small, '/fast-after-reset').done).body.equals(SMALL)).toBe(true);
    } finally {
      small.close();
    }
  });

  it('a client that drops the connection with bodies queued (h2load killed) leaves every server stream closed and the server serving', async () => {
    // Our own socket, to drop it under the session (the session's `socket` is a proxy that refuses destroy()).
    const socket = net.connect(port, '127.0.0.1');
    const doomed = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1024 }, createConnection: () => socket });
    doomed.on('error', () => {});
    const reqs = Array.from({ length: 10 }, (_, i) => get(doomed, `/fast-large-drop-${i}`));
    for (const r of reqs) r.done.catch(() => {});
    await new Promise((resolve) => reqs[0]!.req.once('data', resolve));
    socket.resetAndDestroy();
    for (let i = 0; i < 10; i++) {
      const a = answered.get(`/fast-large-drop-${i}`);
      // Every stream the server had seen ends, reset (no clean close: the body never went out whole).
      if (a !== undefined) {
        expect(await a.closed).not.toBe(http2.constants.NGHTTP2_NO_ERROR);
        expect(a.stream.destroyed).toBe(true);
      }
    }
    expect(answered.has('/fast-large-drop-0')).toBe(true);
    expect((await get(client, '/fast-after-drop').done).body.equals(SMALL)).toBe(true);
  });
});
