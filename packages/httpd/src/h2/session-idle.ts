import type http2 from 'node:http2';

/**
 * What a worker keeps per HTTP/2 session: its open streams, since when it has had none, and its
 * rapid-reset guard. A stream carries its session's state (a closed stream no longer knows its session).
 */
export interface SessionState {
  open: number;
  /** Date.now() when the last stream closed (or the session began); meaningful while `open` is 0. */
  idleSince: number;
  /** Counts a stream the client reset (h2-server.ts). */
  resetSeen: () => void;
}

/**
 * Closes (GOAWAY, then the close once streams in flight end: `session.close()`) every session that has had
 * no open stream for the idle timeout, like an idle keep-alive connection. One sweep per server, about four
 * times per timeout, instead of `session.setTimeout`: node:http2 refreshes a session's timer on every
 * stream event (respond, end, each frame written: `kUpdateTimer`), a timer-list insert and a clock read
 * each time (about 1% of a worker under h2load of 304s: packages/httpd/README.md), which bare node:http2
 * pays none of; and it sent GOAWAY to a session whose only stream was held back by flow control.
 */
export class IdleSessions {
  private readonly sessions = new Map<http2.Http2Session, SessionState>();
  private sweep: NodeJS.Timeout | undefined;

  /** `idleMs()`: the current idle timeout (a reload may change it). */
  constructor(private readonly idleMs: () => number) {}

  get size(): number {
    return this.sessions.size;
  }

  add(session: http2.Http2Session, resetSeen: () => void): SessionState {
    const state: SessionState = { open: 0, idleSince: Date.now(), resetSeen };
    this.sessions.set(session, state);
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.stopSweep();
    });
    this.startSweep();
    return state;
  }

  get(session: http2.Http2Session | undefined): SessionState | undefined {
    return session === undefined ? undefined : this.sessions.get(session);
  }

  /** Every session, for a drain. */
  all(): IterableIterator<http2.Http2Session> {
    return this.sessions.keys();
  }

  /** Closes the sessions idle for the timeout as of `now`; exported for the tests. */
  closeIdle(now: number): void {
    const limit = this.idleMs();
    for (const [session, state] of this.sessions) {
      if (state.open === 0 && now - state.idleSince >= limit && !session.closed && !session.destroyed) session.close();
    }
  }

  private startSweep(): void {
    if (this.sweep !== undefined) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.idleMs() / 4)));
    this.sweep = setInterval(() => this.closeIdle(Date.now()), every);
    this.sweep.unref();
  }

  private stopSweep(): void {
    if (this.sweep === undefined) return;
    clearInterval(this.sweep);
    this.sweep = undefined;
  }
}

/** A stream has opened on the session of `state`. */
export function streamOpened(state: SessionState | undefined): void {
  if (state !== undefined) state.open++;
}

/** A stream of the session of `state` has closed. */
export function streamClosed(state: SessionState | undefined): void {
  if (state === undefined) return;
  if (--state.open === 0) state.idleSince = Date.now();
}
