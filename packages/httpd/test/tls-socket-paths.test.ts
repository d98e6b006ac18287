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
