import type { StoredObject } from '@webroot/format';

/**
 * A byte-bounded LRU of small whole objects, in front of every IO mode.
 * Keyed by the object itself: a swapped-out webroot's objects simply age out.
 */
export class ObjectCache {
  private readonly map = new Map<StoredObject, Buffer>();
  private bytes = 0;
  /** Objects larger than this are never cached. */
  readonly maxObject: number;

  constructor(readonly budget: number) {
    this.maxObject = Math.min(256 * 1024, Math.floor(budget / 16));
  }

  get enabled(): boolean {
    return this.budget > 0;
  }

  cacheable(object: StoredObject): boolean {
    return this.budget > 0 && object.length <= this.maxObject;
  }

  get(object: StoredObject): Buffer | undefined {
    const hit = this.map.get(object);
    if (hit) {
      // refresh recency
      this.map.delete(object);
      this.map.set(object, hit);
    }
    return hit;
  }

  /** Stores `data`; returns the buffer kept (an exact-size copy when `data` was a view into a larger allocation). */
  set(object: StoredObject, data: Buffer): Buffer {
    if (!this.cacheable(object) || this.map.has(object)) return data;
    // Small Buffer.allocUnsafe results are slices of a shared 8 KiB pool: caching the slice would pin the
    // whole slab (measured: 10,000 cached 1-4 KiB files held ~80 MiB). Keep an exact-size copy instead.
    if (data.byteOffset !== 0 || data.buffer.byteLength !== data.length) {
      const exact = Buffer.allocUnsafeSlow(data.length);
      data.copy(exact);
      data = exact;
    }
    this.map.set(object, data);
    this.bytes += data.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budget) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
    return data;
  }

  get size(): number {
    return this.bytes;
  }
}
