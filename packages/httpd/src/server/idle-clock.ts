/**
 * Idle timeouts of wires (wire.ts, handle-wire.ts): one interval per worker sweeping the wires that have a
 * deadline, instead of a timer per socket. A read or write only sets `active`, without reading the clock;
 * the sweep moves the deadline of an active wire and expires the others. A timeout fires up to two ticks
 * late (activity is seen at a sweep).
 *
 * Why not net.Socket's own `setTimeout`: node refreshes that timer on every read and write
 * (`_unrefTimer` -> `Timeout.refresh` -> a timer-list insert and a clock read, lib/net.js), which was about
 * 0.7% of a worker under HTTPS/1.1 keep-alive 1 KB (CPU profile: packages/httpd/README.md) and which a bare
 * TLS responder never pays.
 */

/** What the sweep needs of a wire. */
export interface IdleWatched {
  /** A read or write since the last sweep. */
  active: boolean;
  /** When the idle timeout expires (Date.now() ms), while `timeoutMs` > 0. */
  deadline: number;
  timeoutMs: number;
  /** The deadline passed: tell the connection, and re-arm (as an idle socket's timer re-arms on its next activity). */
  expire(now: number): void;
}

/** How often idle deadlines are checked. */
export const IDLE_TICK_MS = 50;

class IdleClock {
  private readonly wires = new Set<IdleWatched>();
  private timer: NodeJS.Timeout | undefined;

  /** Starts watching `wire` with `ms` (0: stops); from now, as a socket's setTimeout does. */
  set(wire: IdleWatched, ms: number): void {
    wire.timeoutMs = ms;
    if (ms <= 0) {
      this.wires.delete(wire);
      return;
    }
    wire.deadline = Date.now() + ms;
    wire.active = false;
    this.wires.add(wire);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), IDLE_TICK_MS);
      this.timer.unref();
    }
  }

  remove(wire: IdleWatched): void {
    this.wires.delete(wire);
  }

  private sweep(): void {
    if (this.wires.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = Date.now();
    for (const wire of this.wires) {
      if (wire.active) {
        wire.active = false;
        wire.deadline = now + wire.timeoutMs;
      } else if (wire.deadline <= now) wire.expire(now);
    }
  }
}

/** The worker's one clock. */
export const idleClock = new IdleClock();
