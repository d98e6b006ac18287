import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

async function pair(): Promise<{ server: net.Server; served: net.Socket; client: net.Socket }> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const served = await accepted;
  return { server, served, client };
}

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
}

afterEach(() => {
  delete process.env.WEBROOT_PORTABLE_SOCKETS;
});

describe.each([false, true])('writeNow (WEBROOT_PORTABLE_SOCKETS: %s)', (portable) => {
  it('reports a write the kernel could not take, keeps its buffer marked as being written until it is, then runs drained', async () => {
    if (portable) process.env.WEBROOT_PORTABLE_SOCKETS = '1';
    vi.resetModules();
    const m = await import('../src/server/fast-socket.js');
    expect(m.fastSockets).toBe(!portable);
    const { server, served, client } = await pair();
    try {
      client.pause(); // reads nothing: the kernel's buffers fill
      const big = Buffer.alloc(32 * 1024 * 1024, 7);
      let drained = 0;
      expect(m.writeNow(served, big, () => drained++)).toBe(false);
      expect(m.isBeingWritten(big)).toBe(true);
      let got = 0;
      client.on('data', (c: Buffer) => (got += c.length));
      client.resume();
      await until(() => got === big.length && drained === 1);
      await until(() => !m.isBeingWritten(big));
      // A small write is taken at once; its buffer is free again by the next turn of the loop.
      const small = Buffer.from('hello');
      expect(m.writeNow(served, small, () => drained++)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(m.isBeingWritten(small)).toBe(false);
      // Strings are written as latin1.
      expect(m.writeNow(served, 'caf\u00e9', () => drained++)).toBe(true);
      await until(() => got === big.length + 5 + 4);
      expect(drained).toBe(1);
    } finally {
      client.destroy();
      served.destroy();
      server.close();
    }
  });
});
