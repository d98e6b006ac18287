import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptHandles, handleWire, ownHandles } from '../src/server/handle-wire.js';
import type { Wire, WireEvents } from '../src/server/wire.js';

/** What a wire reported, in order. */
interface Recorder extends WireEvents {
  log: string[];
  data: Buffer[];
  closed: Promise<void>;
}

function recorder(): Recorder {
  let closed!: () => void;
  const r: Recorder = {
    log: [],
    data: [],
    closed: new Promise<void>((resolve) => (closed = resolve)),
    onData: (chunk) => {
      r.log.push('data');
      r.data.push(Buffer.from(chunk)); // a view into the shared buffer: copied to be kept
    },
    onEnd: () => r.log.push('end'),
    onTimeout: () => r.log.push('timeout'),
    onClose: () => {
      r.log.push('close');
      closed();
    },
  };
  return r;
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A server whose connections are HandleWires; resolves with the first one and a connected client. */
async function pair(): Promise<{ wire: Wire; events: Recorder; client: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true });
  servers.push(server);
  const accepted = new Promise<{ wire: Wire; events: Recorder }>((resolve) => {
    server.once('listening', () => {
      expect(acceptHandles(server, (handle) => {
        const events = recorder();
        resolve({ wire: handleWire(handle, events), events });
      })).toBe(true);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const { wire, events } = await accepted;
  return { wire, events, client };
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).toBe(true);
}

function received(client: net.Socket): { bytes: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks), ended: new Promise((resolve) => client.once('end', () => resolve())) };
}

describe.runIf(ownHandles)('HandleWire: a connection on the accepted libuv handle, without net.Socket', () => {
  it('delivers reads, writes buffers and latin1 strings, and knows its peer', async () => {
    const { wire, events, client } = await pair();
    const got = received(client);
    client.write('hello');
    await until(() => events.data.length > 0);
    expect(Buffer.concat(events.data).toString()).toBe('hello');
    expect(wire.remoteAddress).toBe('127.0.0.1');
    expect(wire.write('caf\u00e9 ', () => {})).toBe(true);
    expect(wire.write(Buffer.from('ok'), () => {})).toBe(true);
    expect(wire.bytesWritten).toBe(7);
    await until(() => got.bytes().length === 7);
    expect(got.bytes().toString('latin1')).toBe('caf\u00e9 ok');
    wire.destroy();
    await events.closed;
    expect(wire.destroyed).toBe(true);
    client.destroy();
  });

  it('a half-close (RFC 9112 section 9.6): the client ends first, we still write, then end, and the connection closes', async () => {
    const { wire, events, client } = await pair();
    const got = received(client);
    client.end('last request');
    await until(() => events.log.includes('end'));
    expect(events.log.includes('close')).toBe(false);
    expect(wire.write('the answer', () => {})).toBe(true);
    wire.end();
    await got.ended;
    await events.closed;
    expect(got.bytes().toString()).toBe('the answer');
    expect(events.log).toEqual(['data', 'end', 'close']);
  });

  it('our half-close first: the client sees EOF, and its own end closes the connection', async () => {
    const { wire, events, client } = await pair();
    const got = received(client);
    wire.write('bye', () => {});
    wire.end();
    wire.end(); // a second end is nothing
    await got.ended;
    expect(events.log).not.toContain('close');
    client.end();
    await events.closed;
    expect(got.bytes().toString()).toBe('bye');
  });

  it('end(true), the client having asked for the close (RFC 9112 section 9.6): closed at once, the bytes still arrive, then EOF', async () => {
    const { wire, events, client } = await pair();
    const got = received(client);
    const body = Buffer.alloc(200_000, 3);
    let drained = false;
    if (!wire.write(body, () => (drained = true))) await until(() => drained);
    wire.end(true);
    // Without waiting for the client's side (which stays open): the handle is closed now.
    await events.closed;
    await got.ended;
    expect(got.bytes().equals(body)).toBe(true);
    client.destroy();
  });

  it('a write the kernel cannot take at once returns false, then drained runs once it is written', async () => {
    const { wire, events, client } = await pair();
    client.pause();
    const big = Buffer.alloc(16 * 1024 * 1024, 1);
    let drained = 0;
    expect(wire.write(big, () => drained++)).toBe(false);
    expect(wire.kernelBytes()).toBeLessThan(big.length);
    let n = 0;
    client.on('data', (c: Buffer) => (n += c.length));
    client.resume();
    await until(() => n === big.length && drained === 1, 20000);
    expect(wire.kernelBytes()).toBe(big.length);
    wire.destroy();
    await events.closed;
    client.destroy();
  });

  it('pause stops reads until resume', async () => {
    const { wire, events, client } = await pair();
    wire.pause();
    expect(wire.isPaused()).toBe(true);
    client.write('held');
    await new Promise((r) => setTimeout(r, 100));
    expect(events.data).toHaveLength(0);
    wire.resume();
    await until(() => events.data.length > 0);
    expect(Buffer.concat(events.data).toString()).toBe('held');
    wire.destroy();
    await events.closed;
    client.destroy();
  });

  it('the idle timeout fires after the time set without activity, is pushed back by reads, and is off at 0', async () => {
    const { wire, events, client } = await pair();
    const started = Date.now();
    wire.setTimeout(300);
    await new Promise((r) => setTimeout(r, 200));
    client.write('x'); // activity: the deadline moves
    await until(() => events.log.includes('timeout'), 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    wire.setTimeout(0);
    const count = events.log.filter((e) => e === 'timeout').length;
    await new Promise((r) => setTimeout(r, 500));
    expect(events.log.filter((e) => e === 'timeout').length).toBe(count);
    wire.destroy();
    await events.closed;
    client.destroy();
  });

  it('stream() hands the same connection to a net.Socket, also after the client ended its side', async () => {
    const { wire, events, client } = await pair();
    const got = received(client);
    client.end('request');
    await until(() => events.log.includes('end'));
    const socket = wire.stream();
    expect(socket).toBeInstanceOf(net.Socket);
    expect(wire.stream()).toBe(socket);
    await new Promise<void>((resolve) => socket.write(Buffer.alloc(100_000, 2), () => resolve()));
    wire.end(); // through the socket now; with the client's side ended, it closes
    await got.ended;
    await events.closed;
    expect(got.bytes().length).toBe(100_000);
    expect(events.log.filter((e) => e === 'end')).toHaveLength(1);
  });

  it('stream() on an open connection keeps reading through the socket', async () => {
    const { wire, events, client } = await pair();
    const socket = wire.stream();
    client.write('after');
    await until(() => events.data.length > 0);
    expect(Buffer.concat(events.data).toString()).toBe('after');
    expect(wire.remoteAddress).toBe('127.0.0.1');
    socket.destroy();
    await events.closed;
    client.destroy();
  });

  it('a client reset destroys the wire and reports the close', async () => {
    const { events, client } = await pair();
    client.write('x');
    await until(() => events.data.length > 0);
    client.resetAndDestroy();
    await events.closed;
  });
});
