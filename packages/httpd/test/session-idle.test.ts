import { EventEmitter } from 'node:events';
import type http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { IdleSessions, streamClosed, streamOpened } from '../src/h2/session-idle.js';

/** What IdleSessions uses of a session: close(), closed, destroyed, and its 'close' event. */
class FakeSession extends EventEmitter {
  closed = false;
  destroyed = false;
  closeCalls = 0;
  close(): void {
    this.closeCalls++;
    this.closed = true;
  }
}
const asSession = (s: FakeSession) => s as unknown as http2.Http2Session;

describe('IdleSessions.closeIdle (idle timeout 1000 ms)', () => {
  // [what, streams opened, streams closed, ms since the last stream closed (or the session began), closed?]
  it.each([
    ['a new session without streams, before the timeout', 0, 0, 999, false],
    ['a new session without streams, at the timeout', 0, 0, 1000, true],
    ['a session with a stream open, long past the timeout', 1, 0, 60_000, false],
    ['a session whose streams all closed, before the timeout', 3, 3, 500, false],
    ['a session whose streams all closed, past the timeout', 3, 3, 1500, true],
    ['a session with one of two streams still open', 2, 1, 5000, false],
  ] as const)('%s', (_what, opened, closed, idleFor, expectClosed) => {
    const sessions = new IdleSessions(() => 1000);
    const fake = new FakeSession();
    const state = sessions.add(asSession(fake), () => {});
    for (let i = 0; i < opened; i++) streamOpened(state);
    for (let i = 0; i < closed; i++) streamClosed(state);
    sessions.closeIdle(state.idleSince + idleFor);
    expect(fake.closeCalls).toBe(expectClosed ? 1 : 0);
    fake.emit('close');
    expect(sessions.size).toBe(0);
  });

  it('a session already closing is not closed again, and a closed one is forgotten', () => {
    const sessions = new IdleSessions(() => 1000);
    const fake = new FakeSession();
    const state = sessions.add(asSession(fake), () => {});
    sessions.closeIdle(state.idleSince + 2000);
    sessions.closeIdle(state.idleSince + 3000);
    expect(fake.closeCalls).toBe(1);
    expect(sessions.get(asSession(fake))).toBe(state);
    fake.emit('close');
    expect(sessions.get(asSession(fake))).toBeUndefined();
  });

  it('reads the timeout at each sweep (a reload may change it)', () => {
    let idleMs = 1000;
    const sessions = new IdleSessions(() => idleMs);
    const fake = new FakeSession();
    const state = sessions.add(asSession(fake), () => {});
    idleMs = 10_000;
    sessions.closeIdle(state.idleSince + 5000);
    expect(fake.closeCalls).toBe(0);
    fake.emit('close');
  });
});
