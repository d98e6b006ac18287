/**
 * h2/fast-respond.ts: a prebuilt nghttp2 header list per representation instead of node:http2's per-call
 * processHeaders + mapToHeaders, checked against node's own `stream.respond` over a real HTTP/2 session
 * (cleartext, loopback): the same fields reach the client, with Date, END_STREAM on bodiless responses
 * (RFC 9113 section 8.1), and anything node's rules would change or refuse goes through `respond` itself.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastRespond, headerBlock, type H2Block } from '../src/h2/fast-respond.js';

describe('headerBlock (what node:http2 would send unchanged)', () => {
  const ok = { ':status': 200, 'content-type': 'text/plain', 'content-length': 5, etag: '"abc"', server: 'webroot' };
  it.each([
    ['lower-case fields, a numeric value', ok, true],
    ['a 304 (RFC 9110 section 15.4.5)', { ':status': 304, etag: '"abc"' }, true],
    ['an upper-case name (RFC 9113 section 8.2.1: lower case only)', { ':status': 200, 'Content-Type': 'text/plain' }, false],
    ['a connection-specific field (RFC 9113 section 8.2.2)', { ':status': 200, connection: 'close' }, false],
    ['transfer-encoding (RFC 9113 section 8.2.2)', { ':status': 200, 'transfer-encoding': 'chunked' }, false],
    ['a value with a line break (RFC 9113 section 8.2.1)', { ':status': 200, 'x-a': 'a\r\nb' }, false],
    ['a value with NUL', { ':status': 200, 'x-a': 'a\0b' }, false],
    ['a repeated field (an array)', { ':status': 200, 'set-cookie': ['a=1', 'b=2'] }, false],
    ['a Date of its own (added per second instead)', { ':status': 200, date: 'Tue, 01 Dec 2026 00:00:00 GMT' }, false],
    ['a status outside 200-599', { ':status': 101 }, false],
  ] as const)('%s: a prebuilt list %s', (_name, headers, prebuilt) => {
    const block = headerBlock(headers as http2.OutgoingHttpHeaders);
    expect(block.list !== undefined).toBe(prebuilt);
    expect(block.headers).toBe(headers);
  });

  it('puts :status first and one name\\0value\\0flags entry per field, as node:http2 mapToHeaders does', () => {
    const block = headerBlock({ etag: '"x"', ':status': 304, server: 'w' });
    expect(block.list).toBe(':status\u0000304\u0000\u0000etag\u0000"x"\u0000\u0000server\u0000w\u0000\u0000');
    expect(block.count).toBe(3);
  });
});

interface Got {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

describe('FastRespond over a real HTTP/2 session', () => {
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  const fast = new FastRespond();
  const block200 = headerBlock({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': 5, etag: '"e"', 'cache-control': 'no-cache', server: 'webroot' });
  const block304 = headerBlock({ ':status': 304, etag: '"e"', 'cache-control': 'no-cache', server: 'webroot' });
  /** How the server answers each path: through FastRespond, or node's own respond (for comparison). */
  const answer = (stream: http2.ServerHttp2Stream, path: string, block: H2Block, useFast: boolean) => {
    const bodiless = block === block304 || (stream as { headRequest?: boolean }).headRequest === true;
    if (useFast) fast.respond(stream, block, bodiless, bodiless ? { endStream: true } : undefined);
    else stream.respond(block.headers, bodiless ? { endStream: true } : undefined);
    if (!bodiless) stream.end(Buffer.from('hello'));
    sent.set(path, stream.sentHeaders);
  };
  const sent = new Map<string, unknown>();

  beforeAll(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const path = String(headers[':path']);
      const useFast = path.startsWith('/fast');
      answer(stream, path, path.includes('304') ? block304 : block200, useFast);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = http2.connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    client.on('error', () => {});
  });
  afterAll(() => {
    client?.close();
    server?.close();
  });

  const get = (path: string, method = 'GET'): Promise<Got> =>
    new Promise((resolve, reject) => {
      const req = client.request({ ':path': path, ':method': method }, { endStream: true });
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (headers = h));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      setTimeout(() => reject(new Error(`no answer to ${path}`)), 5000).unref();
    });
  const withoutDate = ({ date: _date, ...rest }: http2.IncomingHttpHeaders) => rest;

  it('the first response goes through respond (where the sent headers live is learnt from it); later ones are prebuilt', async () => {
    if (process.env.WEBROOT_PORTABLE_SOCKETS === '1') {
      console.log('fast-respond.test.ts: WEBROOT_PORTABLE_SOCKETS=1 turns the fast path off; checking that it stays off');
      await get('/fast-first');
      expect(fast.active).toBe(false);
      return;
    }
    expect(fast.active).toBe(false);
    await get('/fast-first');
    expect(fast.active).toBe(true);
  });

  it('a 200 with a body: the same fields and bytes as node:http2 respond, with a Date (RFC 9110 section 6.6.1)', async () => {
    const mine = await get('/fast-200');
    const node = await get('/node-200');
    expect(withoutDate(mine.headers)).toEqual(withoutDate(node.headers));
    expect(mine.headers.date).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(mine.body.toString()).toBe('hello');
    // On the fast path, stream.sentHeaders is the cached object itself (node's respond keeps a copy).
    if (fast.active) expect(sent.get('/fast-200')).toBe(block200.headers);
  });

  it('a 304 and a HEAD end the stream with the headers and carry no body (RFC 9110 sections 15.4.5, 9.3.2)', async () => {
    const mine = await get('/fast-304');
    const node = await get('/node-304');
    expect(withoutDate(mine.headers)).toEqual(withoutDate(node.headers));
    expect(mine.headers[':status']).toBe(304);
    expect(mine.body.length).toBe(0);
    const head = await get('/fast-head', 'HEAD');
    expect(head.headers[':status']).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.body.length).toBe(0);
  });

  it('a stream already answered or closed goes to respond, which refuses it as node does', async () => {
    const done = new Promise<unknown>((resolve) => {
      server.once('stream', (stream) => {
        // The server's own handler (registered first) has answered it already.
        try {
          fast.respond(stream, block200, false, undefined);
          resolve(undefined);
        } catch (err) {
          resolve(err);
        }
      });
    });
    await get('/fast-twice');
    expect(((await done) as NodeJS.ErrnoException)?.code).toBe('ERR_HTTP2_HEADERS_SENT');
  });
});
