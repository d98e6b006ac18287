import type { StoredObject } from '@webroot/format';

/**
 * The largest object kept (and no more than a sixteenth of the budget). 1 MiB, not 256 KiB as before: a
 * cached object is written from memory in every IO mode, while a larger one is read from the file for every
 * request (bench/ab.sh on the 1 MB file, one core: sync 653 -> 336 us of CPU per response, async 1,343 ->
 * 436 us; nginx with sendfile ~390 us in the same session).
 */
export const MAX_CACHED_OBJECT = 1024 * 1024;

/** How many once-missed objects the admission check remembers (see admit). */
const DOORKEEPER = 8_192;

/** When a cache takes an object in (see ObjectCache's admit). */
export type Admission = 'first-miss' | 'second-miss';
let processAdmission: Admission = 'first-miss';
/**
 * From now on, every cache of this process built without its own `admission` takes objects in on their second
 * miss. Called (vhosts/, with the heap-growth bound) once a site larger than the entry cache is loaded.
 */
export function admitOnSecondMiss(): void {
  processAdmission = 'second-miss';
}

interface Slot {
  /** The object's bytes; a view into `response` once one is built. */
  data: Buffer;
  /** A complete keep-alive 200 response (head and body) for the second `second`, or null. */
  response: Buffer | null;
  second: number;
  /** The head (status line and fields, without Date) `response` was built with. */
  headers: string;
  /** Where the 29 characters of the Date value start in `response`. */
  dateAt: number;
  /** Set on every hit; eviction gives a used slot a second chance instead of dropping it. */
  used: boolean;
}

/**
 * A byte-bounded cache of small whole objects, in front of every IO mode.
 * Keyed by the object itself: a swapped-out webroot's objects simply age out.
 *
 * Replacement is CLOCK (second chance), not strict LRU: a hit only sets a
 * flag. Refreshing recency by delete + re-insert on every hit halved the
 * throughput of the whole server once the map held 10,000 entries (measured:
 * 1 KB keep-alive 46k -> 20k req/s after a rotation over 10,000 files; 48k
 * with this scheme).
 */
export class ObjectCache {
  private readonly map = new Map<StoredObject, Slot>();
  /**
   * Offsets of objects missed once (see admit): numbers,
   * not the objects, which would keep 65,536 of them (and what hangs off them) alive.
   * Objects of two webroots may share an offset; that only admits one a miss early.
   */
  private readonly seen = new Set<number>();
  private bytes = 0;
  /** Objects larger than this are never cached. */
  readonly maxObject: number;

  /**
   * `inFlight(buffer)`: whether a write may still be reading `buffer`; a response
   * that is not is given its new Date in place instead of being rebuilt.
   */
  constructor(
    readonly budget: number,
    private readonly inFlight: (buffer: Buffer) => boolean = () => true,
    /** Fixed for this cache; by default, the process's (first-miss until admitOnSecondMiss()). */
    private readonly admission?: Admission,
  ) {
    this.maxObject = Math.min(MAX_CACHED_OBJECT, Math.floor(budget / 16));
  }

  cacheable(object: StoredObject): boolean {
    return this.budget > 0 && object.length <= this.maxObject;
  }

  /** Lookups answered from memory and not (for the metrics). */
  hits = 0;
  misses = 0;

  get(object: StoredObject): Buffer | undefined {
    const slot = this.map.get(object);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    slot.used = true;
    return slot.data;
  }

  /** Stores `data`; returns the buffer kept (an exact-size copy when `data` was a view into a larger allocation). */
  set(object: StoredObject, data: Buffer): Buffer {
    if (!this.cacheable(object) || this.map.has(object)) return data;
    if (!this.admit(object, data.length)) return data;
    // Small Buffer.allocUnsafe results are slices of a shared 8 KiB pool: caching the slice would pin the
    // whole slab (measured: 10,000 cached 1-4 KiB files held ~80 MiB). Keep an exact-size copy instead.
    if (data.byteOffset !== 0 || data.buffer.byteLength !== data.length) {
      const exact = Buffer.allocUnsafeSlow(data.length);
      data.copy(exact);
      data = exact;
    }
    this.map.set(object, { data, used: false, response: null, second: -1, headers: '', dateAt: 0 });
    this.bytes += data.length;
    this.evict();
    return data;
  }

  /**
   * The whole response to a plain GET of a cached object: `head` (the status
   * line and header lines of the HTTP/1.1 serializer), Date and the body, in
   * one buffer that is written as it is. When
   * the second (and so Date) changes, the Date is rewritten in place if no write
   * is reading the buffer, else the response is rebuilt in a new one; so is a
   * response whose header lines differ. The body lives inside it, so a cached
   * object is held once. Undefined when the object is not cached.
   */
  response(object: StoredObject, headers: string, second: number, date: string): Buffer | undefined {
    // `headers` is the whole head before Date: this cache knows no status line of its own.
    const slot = this.map.get(object);
    if (slot === undefined) return undefined;
    this.hits++;
    slot.used = true;
    const current = slot.response;
    if (current !== null && slot.headers === headers) {
      if (slot.second === second) return current;
      // IMF-fixdate always has 29 characters (RFC 9110 section 5.6.7).
      if (date.length === 29 && !this.inFlight(current)) {
        current.write(date, slot.dateAt, 'latin1');
        slot.second = second;
        return current;
      }
    }
    const head = `${headers}Date: ${date}\r\n\r\n`;
    const body = slot.data;
    const out = Buffer.allocUnsafeSlow(head.length + body.length);
    out.write(head, 0, 'latin1');
    body.copy(out, head.length);
    this.bytes += out.length - (slot.response === null ? body.length : slot.response.length);
    slot.data = out.subarray(head.length);
    slot.response = out;
    slot.second = second;
    slot.headers = headers;
    slot.dateAt = head.length - 4 - date.length;
    return out;
  }

  /**
   * Admission. While every site loaded is smaller than the entry cache, an object
   * gets in on its first miss while it fits in the budget, and through the
   * doorkeeper below once the cache is full (as before the second-miss change). Second-miss admission there broke the 10,000-file
   * rotation: it runs through its paths in order, so an object came back 10,000
   * misses later, after the doorkeeper had forgotten it, and nothing was ever
   * cached (pnpm bench 'many', sync: 27 -> 43 µs of CPU per request).
   *
   * Once a larger site is loaded (admitOnSecondMiss), an object gets in on its
   * second miss within the last DOORKEEPER misses, whether or not there is room.
   * On a site far larger than the cache (a
   * random rotation over a million files) caching every miss churned (two copies
   * and two allocations per request; worker RSS grew to 430 MiB in 10 s from freed
   * buffers), and admitting at once while there was room still filled the whole
   * budget with objects asked for once: a worker's RSS after a 30 s rotation was
   * ~210 MB with it and ~145 MB without (bench/README, large sites). A site that
   * fits costs one more read per object, on its second request.
   */
  private admit(object: StoredObject, length: number): boolean {
    // First-miss admission only while the object fits: a full cache on a site of few but large objects still
    // takes newcomers through the doorkeeper, not by copying and evicting on every miss.
    if ((this.admission ?? processAdmission) === 'first-miss' && this.bytes + length <= this.budget) return true;
    if (this.seen.delete(object.offset)) return true;
    if (this.seen.size >= DOORKEEPER) this.seen.clear();
    this.seen.add(object.offset);
    return false;
  }

  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.map.size;
  }

  /** Sweeps from the oldest: a used slot loses its flag and goes to the back; an unused one is dropped. */
  private evict(): void {
    let budget = this.map.size * 2; // two passes at most: every flag is cleared in the first
    while (this.bytes > this.budget && budget-- > 0) {
      const first = this.map.entries().next();
      if (first.done) return;
      const [object, slot] = first.value;
      this.map.delete(object);
      if (slot.used) {
        slot.used = false;
        this.map.set(object, slot);
      } else {
        this.bytes -= slot.response === null ? slot.data.length : slot.response.length;
      }
    }
  }
}
