import type { RequestHead } from '../http/parse-request.js';
import type { Site } from '../vhosts/site.js';
import { putMillis } from './log-encode.js';
import { combinedBound, jsonBound, putCombinedAt, putJsonPeer, putJsonRequest, putJsonTime, putMillisDigits } from './log-formats.js';

/*
 * The last access-log line, kept to be copied for the next response to an
 * identical request. A keep-alive client asking for one URL again and again (a
 * load balancer's health check, a monitor, a poller, a benchmark) gets the same
 * line but for the time's milliseconds and the duration: in the server the json
 * line cost ~1.6 us of JavaScript when built field by field (packages/httpd/README.md),
 * and a copy of it a fraction of that.
 *
 * The memo is keyed by every value the line is made of, compared by value:
 * the second, the remote address, each request field the formats read (method,
 * target, Host, User-Agent, Referer, HTTP version), the status, the byte count
 * and the digest of the webroot that answered. So a line can never be stale: a
 * new site version (a new digest), a 304 after a 200, a HEAD, another client or
 * a new second is another key, and the line is built afresh by the formats'
 * own code (log-formats.ts), whose bytes become the memo. Nothing is
 * invalidated by hand.
 */

/** A line longer than this is written but not kept (a long User-Agent or target is rarely repeated as it is). */
const MAX_KEPT = 2048;
/** Most bytes putMillis writes: String() of a double, such as `-1.2345678901234567e+21`. */
const MAX_DURATION = 32;

export type MemoFormat = 'json' | 'combined';

/** Where a line goes (LogFile): room for n bytes at `pos` of the buffer returned, then the line's end. */
export interface LineSink {
  room(bytes: number): Buffer;
  readonly pos: number;
  commit(end: number): void;
}

export class LineMemo {
  /** The kept line without its duration: [0, front) before it, [front, size) after it (combined: no duration, all in front). */
  private readonly bytes = new Uint8Array(MAX_KEPT);
  private frontPart: Uint8Array = new Uint8Array(0);
  private backPart: Uint8Array = new Uint8Array(0);
  /** Where the milliseconds' three digits are in the front part (json); -1: none. */
  private millisAt = -1;
  /** Room a line from the memo needs. */
  private bound = 0;

  /** The bytes of the key's line are in `bytes` (a key seen twice in a row). */
  private kept = false;
  /** NaN: no key yet (never equal). */
  private second = NaN;
  private remote: string | undefined;
  /** The head of the key's line: one reference, not a store of each of its fields per line. */
  private head: RequestHead | undefined;
  private status = 0;
  private size = 0;
  private digest: string | undefined;

  /** Lines written as a copy of the memo (tests: a memo that is never used would pass them too). */
  hits = 0;

  constructor(readonly format: MemoFormat) {}

  /**
   * Writes the line of these values into `out`: a copy of the memo when it holds this line, else the format's code,
   * keeping that line for the next. `ms`: the line's time (Date.now() as read for it).
   */
  write(out: LineSink, remote: string | undefined, head: RequestHead, status: number, size: number, site: Site | undefined, durationMs: number, ms: number): void {
    const second = Math.floor(ms / 1000);
    const digest = site?.webroot.meta.dataSha256;
    if (!this.sameKey(second, remote, head, status, size, digest)) {
      // Another line: built by the format, its key noted; kept only when the next line repeats it (a run of
      // different requests then costs one comparison a line, not a copy into the memo).
      this.setKey(second, remote, head, status, size, digest);
      return this.fresh(out, remote, head, status, size, site, durationMs, ms, false);
    }
    if (!this.kept) return this.fresh(out, remote, head, status, size, site, durationMs, ms, true);
    this.hits++;
    const b = out.room(this.bound);
    let p = out.pos;
    const front = this.frontPart;
    b.set(front, p);
    if (this.millisAt !== -1) putMillisDigits(b, p + this.millisAt, ms - second * 1000);
    p += front.length;
    if (this.format === 'json') {
      p = putMillis(b, p, durationMs);
      b.set(this.backPart, p);
      p += this.backPart.length;
    }
    out.commit(p);
  }

  private sameKey(second: number, remote: string | undefined, head: RequestHead, status: number, size: number, digest: string | undefined): boolean {
    if (second !== this.second || status !== this.status || size !== this.size || remote !== this.remote || digest !== this.digest) return false;
    const last = this.head!;
    if (head.protocol !== last.protocol) return false;
    // An HTTP/1.x head's text holds every field the line reads: one comparison of a flat string (~10 ns for
    // wrk's head) instead of five of its slices (V8 compares a sliced string in the runtime: ~70 ns for a Host).
    // Two heads parsed from the same field-section bytes share their headers object (parse-request.ts's
    // FieldSectionMemo): then the request-line, one flat string, is all that can differ.
    if (head.headers === last.headers && head.line !== undefined && last.line !== undefined) return head.line === last.line;
    const raw = head.raw;
    if (raw !== undefined || last.raw !== undefined) return raw === last.raw;
    const h = head.headers;
    const l = last.headers;
    return head.minor === last.minor && head.target === last.target && head.method === last.method && h.host === l.host && h['user-agent'] === l['user-agent'] && h.referer === l.referer;
  }

  /** Builds the line with the format's code; `keep`: and keeps it, when it is short enough. */
  private fresh(out: LineSink, remote: string | undefined, head: RequestHead, status: number, size: number, site: Site | undefined, durationMs: number, ms: number, keep: boolean): void {
    if (this.format === 'combined') {
      const b = out.room(combinedBound(remote, head));
      const start = out.pos;
      const end = putCombinedAt(b, start, remote, head, status, size, ms);
      if (keep) this.keep(b, start, -1, end, end, end);
      return out.commit(end);
    }
    const b = out.room(jsonBound(remote, head, site));
    const start = out.pos;
    const time = putJsonTime(b, start, ms);
    const front = putJsonRequest(b, time, head, status, size);
    const back = putMillis(b, front, durationMs);
    const end = putJsonPeer(b, back, remote, head, site);
    if (keep) this.keep(b, start, time - 3 - start, front, back, end);
    out.commit(end);
  }

  /** Keeps the line just written at b[start, end) but for its duration, b[front, back). */
  private keep(b: Buffer, start: number, millisAt: number, front: number, back: number, end: number): void {
    const frontLength = front - start;
    const kept = frontLength + (end - back);
    if (kept > MAX_KEPT) return;
    this.bytes.set(new Uint8Array(b.buffer, b.byteOffset + start, frontLength), 0);
    this.bytes.set(new Uint8Array(b.buffer, b.byteOffset + back, end - back), frontLength);
    this.frontPart = this.bytes.subarray(0, frontLength);
    this.backPart = this.bytes.subarray(frontLength, kept);
    this.millisAt = millisAt;
    this.bound = kept + MAX_DURATION;
    this.kept = true;
  }

  private setKey(second: number, remote: string | undefined, head: RequestHead, status: number, size: number, digest: string | undefined): void {
    this.kept = false;
    this.second = second;
    this.remote = remote;
    this.head = head;
    this.status = status;
    this.size = size;
    this.digest = digest;
  }
}
