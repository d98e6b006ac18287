import type { Writable } from 'node:stream';
import type { HttpResponse } from '../http/response.js';
import type { Executor } from './executors.js';
import type { ObjectCache } from './object-cache.js';
import { bodyCached, modeUsesSendfile, SENDFILE_MIN_BODY, sendfileMaxBody, sendfileNeedsCached, sendfileRange, sendfileSetting, sendfileSupport, type FileRange } from './sendfile.js';
import type { StoredObject, Webroot } from '@webroot/format';

/**
 * Where response bodies come from, for every protocol: the object cache for
 * small hot objects, else the IO mode's executor. `gather` returns a small
 * body whole (after `prefix`, written as latin1: an HTTP/1.1 head, so head
 * and body leave in one write); `pump` sends a large one into a Writable (a
 * socket, an HTTP/2 stream) with backpressure, resolving false when the sink
 * closed first.
 */
export class BodySource {
  /** Whether this IO mode sends large bodies with sendfile(2) where the connection allows it (io/sendfile.ts). */
  readonly sendfile: boolean;
  /** The largest body sent with sendfile(2) (WEBROOT_SENDFILE=auto: 1 MiB). */
  private readonly sendfileMax = sendfileMaxBody(sendfileSetting);

  constructor(
    readonly cache: ObjectCache,
    readonly executor: Executor,
  ) {
    this.sendfile = modeUsesSendfile(sendfileSetting, executor.mode);
    this.sendfileNeedsCached = sendfileNeedsCached(sendfileSetting, executor.mode);
  }

  /** Whether a body must be in the page cache to go by sendfile (async mode: sendfile reads on the event loop). */
  private readonly sendfileNeedsCached: boolean;

  /**
   * The file range to hand to sendfile(2) for `res`, or undefined (the addon is off, this mode does not use it,
   * the body does not qualify, or, in async mode, a page of it is not in the page cache).
   */
  fileRange(res: HttpResponse): FileRange | undefined {
    if (!this.sendfile || sendfileSupport.kind !== 'on') return undefined;
    const range = sendfileRange(res, SENDFILE_MIN_BODY, this.sendfileMax);
    if (range === undefined || !this.sendfileNeedsCached) return range;
    return bodyCached(res.site!.webroot.descriptor, range) ? range : undefined;
  }

  /** Bytes [start, end) of `object`: from the object cache when it holds them, else read by the IO mode's executor. */
  readPart(webroot: Webroot, object: StoredObject, start: number, end: number): Buffer | Promise<Buffer> {
    const hit = this.cache.cacheable(object) ? this.cache.get(object) : undefined;
    if (hit !== undefined) return hit.subarray(start, end);
    return this.executor.read(webroot, object, start, end);
  }

  /**
   * Whether `gather` is the way to send `res`: a body up to `smallBody` bytes, or one whose objects all fit
   * the object cache. A cached object up to the cache's limit (1 MiB, object-cache.ts) is then answered from memory in every
   * IO mode (for a keep-alive GET, as one prebuilt response buffer), instead of being pumped from the file
   * chunk by chunk on every request: a pread of 100 KB was a third of the sync worker's CPU for the 100 KB
   * keep-alive scenario (perf), and in async and stream modes every request paid thread-pool round trips.
   */
  gathers(res: HttpResponse, smallBody: number): boolean {
    if (res.bodyLength <= smallBody) return true;
    for (const seg of res.body) if (seg.kind === 'object' && !this.cache.cacheable(seg.object)) return false;
    return true;
  }

  gather(res: HttpResponse, prefix = ''): Buffer | Promise<Buffer> {
    const { cache, executor } = this;
    const parts: (Buffer | Promise<Buffer>)[] = [];
    let pending = false;
    for (const seg of res.body) {
      if (seg.kind === 'buffer') {
        parts.push(seg.data);
        continue;
      }
      const webroot = res.site!.webroot;
      if (cache.cacheable(seg.object)) {
        const hit = cache.get(seg.object);
        if (hit) {
          parts.push(seg.start === 0 && seg.end === hit.length ? hit : hit.subarray(seg.start, seg.end));
          continue;
        }
        const whole = executor.read(webroot, seg.object, 0, seg.object.length);
        const keep = (b: Buffer) => {
          const kept = cache.set(seg.object, b);
          return seg.start === 0 && seg.end === kept.length ? kept : kept.subarray(seg.start, seg.end);
        };
        if (whole instanceof Promise) {
          pending = true;
          parts.push(whole.then(keep));
        } else parts.push(keep(whole));
        continue;
      }
      const bytes = executor.read(webroot, seg.object, seg.start, seg.end);
      if (bytes instanceof Promise) pending = true;
      parts.push(bytes);
    }
    const join = (bodies: Buffer[]): Buffer => {
      if (prefix === '' && bodies.length === 1) return bodies[0]!;
      const prefixLength = Buffer.byteLength(prefix, 'latin1');
      let total = prefixLength;
      for (const b of bodies) total += b.length;
      const out = Buffer.allocUnsafe(total);
      out.write(prefix, 0, 'latin1');
      let at = prefixLength;
      for (const b of bodies) at += b.copy(out, at);
      return out;
    };
    return pending ? Promise.all(parts).then(join) : join(parts as Buffer[]);
  }

  /** `prefix` (an HTTP/1.1 head) goes out in the same write as the first bytes of the body. */
  async pump(sink: Writable, res: HttpResponse, prefix: Buffer[] = []): Promise<boolean> {
    let pending = prefix;
    for (const seg of res.body) {
      if (sink.destroyed) return false;
      if (seg.kind === 'buffer') pending.push(seg.data);
      else {
        const ok = await this.executor.pump(sink, res.site!.webroot, seg.object, seg.start, seg.end, pending);
        pending = [];
        if (!ok) return false;
      }
    }
    for (const b of pending) sink.write(b);
    return !sink.destroyed;
  }
}
