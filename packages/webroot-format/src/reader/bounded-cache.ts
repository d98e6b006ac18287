/**
 * A map holding at most `capacity` entries, replaced by CLOCK (second chance):
 * a hit only sets a flag, and eviction moves a flagged entry to the back
 * instead of dropping it. Strict LRU (delete + re-insert on every hit) costs a
 * hash-table write per hit; httpd's object cache measured that as halving
 * throughput at 10,000 entries, so the same scheme is used here.
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, { value: V; used: boolean }>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a positive integer, not ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, or undefined; `has` tells an absent key from a stored undefined. */
  get(key: K): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      slot.value = value;
      return;
    }
    this.map.set(key, { value, used: false });
    if (this.map.size > this.capacity) this.evictOne();
  }

  clear(): void {
    this.map.clear();
  }

  private evictOne(): void {
    // Every flag met is cleared, so within capacity + 1 steps an unflagged entry comes up.
    for (let budget = this.map.size + 1; budget > 0; budget--) {
      const first = this.map.entries().next();
      if (first.done) return;
      const [key, slot] = first.value;
      this.map.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.map.set(key, slot);
    }
  }
}
