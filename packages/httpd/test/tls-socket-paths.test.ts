/**
 * The fast paths on TLS sockets (server/fast-socket.ts), over a real TLS connection on loopback: reads moved
 * to the shared buffer after the handshake (moveToSharedReads), and what a TLS write reports
 * (socketWriteQueued), which tells a response the kernel took at once (reported late from a setImmediate
 * by node's TLSWrap) from one waiting for a client that does not read.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { fastSockets, isSharedRead, moveToSharedReads, socketWriteQueued, writeNow } from '../src/server/fast-socket.js';
import { IDLE_TICK_MS } from '../src/server/idle-clock.js';
import { SocketWire, type WireEvents } from '../src/server/wire.js';

const opensslMissing = spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not installed (apt-get install openssl)';
const skip = opensslMissing ?? (fastSockets ? undefined : 'the socket fast paths are off (WEBROOT_PORTABLE_SOCKETS=1 or this Node lacks them)');
if (skip) console.log(`tls-socket-paths.test.ts skipped: ${skip}`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-paths-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let pair: { cert: Buffer; key: Buffer } | undefined;
function certPair(): { cert: Buffer; key: Buffer } {
  if (pair) return pair;
  const key = path.join(dir, 'k.pem');
  const cert = path.join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return (pair = { cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
}

/** A TLS server whose first connection, once secure, goes to `onSecure`; and a client connected to it. */
async function tlsPair(onSecure: (socket: tls.TLSSocket) => void): Promise<{ client: tls.TLSSocket; close: () => void }> {
  const server = tls.createServer(certPair(), onSecure);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('secureConnect', () => resolve()));
  return {
    client,
    close: () => {
      client.destroy();
      server.close();
    },
  };
}

const until = async (done: () => boolean, what: string, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe.skipIf(skip !== undefined)('moveToSharedReads on a TLSSocket', () => {
  it('hands over what the socket had already read, then delivers every later read from the shared buffer, honours pause/resume, and still ends', async () => {
    const reads: string[] = [];
    const early: string[] = [];
    let serverSocket: tls.TLSSocket | undefined;
    const { client, close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      client.write('before the switch');
      // Read into the socket's Readable buffer, not consumed: what a request sent with the handshake's last flight looks like.
      await until(() => serverSocket!.readableLength > 0, 'the first bytes');
      const moved = moveToSharedReads(serverSocket!, (chunk) => {
        expect(isSharedRead(chunk)).toBe(true);
        reads.push(chunk.toString('latin1'));
      });
      expect(moved).toBeDefined();
      for (const c of moved!) early.push(c.toString('latin1'));
      expect(early.join('')).toBe('before the switch');
      client.write('after');
      await until(() => reads.join('') === 'after', 'the read after the switch');
      // Paused, a read is not delivered; resumed, it is.
      serverSocket!.pause();
      client.write('while paused');
      await new Promise((r) => setTimeout(r, 150));
      expect(reads.join('')).toBe('after');
      serverSocket!.resume();
      await until(() => reads.join('') === 'afterwhile paused', 'the read after resume');
      const ended = new Promise<void>((resolve) => serverSocket!.once('end', () => resolve()));
      client.end();
      await ended;
    } finally {
      close();
    }
  });

  it('changes nothing on a socket already made with onread-style reads (returns undefined the second time)', async () => {
    let serverSocket: tls.TLSSocket | undefined;
    const { close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      expect(moveToSharedReads(serverSocket!, () => {})).toEqual([]);
      expect(moveToSharedReads(serverSocket!, () => {})).toBeUndefined();
    } finally {
      close();
    }
  });
});

describe.skipIf(skip !== undefined)('socketWriteQueued on a TLSSocket', () => {
  it('a small write is reported later (TLSWrap) but is not queued: the kernel took it', async () => {
    let serverSocket: tls.TLSSocket | undefined;
    const { client, close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      let got = '';
      client.on('data', (d: Buffer) => (got += d.toString('latin1')));
      let drained = 0;
      const now = writeNow(serverSocket!, 'HTTP/1.1 200 OK\r\n\r\n', () => drained++);
      // node's TLSWrap reports every write from a setImmediate ("Simulate asynchronous finishing").
      expect(now).toBe(false);
      expect(socketWriteQueued(serverSocket!)).toBe(false);
      await until(() => drained === 1, 'the late report');
      await until(() => got === 'HTTP/1.1 200 OK\r\n\r\n', 'the bytes at the client');
    } finally {
      close();
    }
  });

  it('writes to a client that reads nothing are queued once the socket buffers are full', async () => {
    let serverSocket: tls.TLSSocket | undefined;
    const { client, close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      client.pause();
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let queued = false;
      // One write at a time (a TLSWrap takes one), each after the last one's report, until one stays queued.
      for (let i = 0; i < 200 && !queued; i++) {
        let drained = false;
        writeNow(serverSocket!, chunk, () => (drained = true));
        if (socketWriteQueued(serverSocket!)) queued = true;
        else await until(() => drained, 'the late report');
      }
      expect(queued).toBe(true);
    } finally {
      close();
    }
  });
});

/** A SocketWire over the server side of a TLS pair, with what it reported. */
function wireOn(socket: tls.TLSSocket): { wire: SocketWire; seen: { data: string; timeouts: number; closed: boolean } } {
  const seen = { data: '', timeouts: 0, closed: false };
  const events: WireEvents = {
    onData: (chunk) => (seen.data += chunk.toString('latin1')),
    onEnd: () => {},
    onTimeout: () => seen.timeouts++,
    onClose: () => (seen.closed = true),
  };
  return { wire: new SocketWire(socket, events), seen };
}

// Idle timeouts of sockets (TLS connections) are the worker's sweep (server/idle-clock.ts), not net.Socket's own
// timer, which node refreshes (a timer-list insert) on every read and write.
describe.skipIf(skip !== undefined)('SocketWire on a TLSSocket', () => {
  it('times out after setTimeout(ms) of no reads or writes, without arming the socket\'s own timer; reads and writes postpone it; 0 stops it', async () => {
    let serverSocket: tls.TLSSocket | undefined;
    const { client, close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      const { wire, seen } = wireOn(serverSocket!);
      const started = Date.now();
      wire.setTimeout(300);
      // net.Socket's timeout property is what socket.setTimeout set (0 or unset: none).
      expect((serverSocket as unknown as { timeout?: number }).timeout ?? 0).toBe(0);
      // Activity every 100 ms for 900 ms: a read, then a write, in turn. No timeout meanwhile.
      for (let i = 0; i < 9; i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (i % 2 === 0) client.write('x');
        else wire.write('y', () => {});
      }
      await until(() => seen.data.length >= 5, 'the reads');
      expect(seen.timeouts).toBe(0);
      const quiet = Date.now();
      await until(() => seen.timeouts > 0, 'the idle timeout', 3000);
      // Not before 300 ms of quiet; at most two sweeps late, plus the machine's scheduling.
      expect(Date.now() - quiet).toBeGreaterThanOrEqual(300 - IDLE_TICK_MS);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1200 - IDLE_TICK_MS);
      // Off: no further timeout.
      wire.setTimeout(0);
      const count = seen.timeouts;
      await new Promise((r) => setTimeout(r, 500));
      expect(seen.timeouts).toBe(count);
      expect(seen.closed).toBe(false);
    } finally {
      close();
    }
  });

  it('writeQueued: a response the kernel took is not queued though its report is late; one a client does not read is', async () => {
    let serverSocket: tls.TLSSocket | undefined;
    const { client, close } = await tlsPair((socket) => (serverSocket = socket));
    try {
      await until(() => serverSocket !== undefined, 'the secure connection');
      const { wire } = wireOn(serverSocket!);
      let drained = false;
      expect(wire.write('HTTP/1.1 200 OK\r\n\r\n', () => (drained = true))).toBe(false);
      expect(wire.writeQueued()).toBe(false);
      await until(() => drained, 'the late report');
      client.pause();
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let queued = false;
      for (let i = 0; i < 200 && !queued; i++) {
        drained = false;
        wire.write(chunk, () => (drained = true));
        if (wire.writeQueued()) queued = true;
        else await until(() => drained, 'the late report');
      }
      expect(queued).toBe(true);
    } finally {
      close();
    }
  });
});
