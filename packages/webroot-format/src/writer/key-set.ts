const INITIAL_SLOTS = 4096;

/** Two independent 32-bit hashes of a string's UTF-16 code units (FNV-1a and a multiplicative one). */
export function hashPair(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b + c, 0x85ebca6b) ^ (b >>> 13);
  }
  return [a >>> 0, b >>> 0];
}

/** The first 8 bytes of a SHA-256 as a key pair. */
export function digestPair(hash: Buffer): [number, number] {
  return [hash.readUInt32LE(0), hash.readUInt32LE(4)];
}

/**
 * A set of 64-bit keys (pairs of 32-bit words) that answers "maybe seen" for a
 * key it took, and for nothing else but another value with the same key: the
 * writer keys paths by hashPair and objects by their hash's first 8 bytes, and
 * asks SQLite only on a "maybe", so that neither the duplicate-path check nor
 * deduplication needs an SQLite statement per file. 8 bytes a slot, at most
 * half full: 16 MB per million keys, no JavaScript object per key.
 */
export class KeySet {
  /** Pairs of words per slot: [a, b | 1]; b is odd in a used slot, 0 when empty. */
  private slots = new Uint32Array(INITIAL_SLOTS * 2);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Whether the key was added (or a value with the same key). */
  has([a, raw]: [number, number]): boolean {
    return this.findSlot(a, (raw | 1) >>> 0) >= 0;
  }

  /** Adds the key; false when it was there already ("maybe seen"). */
  add([a, raw]: [number, number]): boolean {
    const b = (raw | 1) >>> 0;
    if (this.findSlot(a, b) >= 0) return false;
    if ((this.count + 1) * 2 > this.slots.length / 2) this.grow();
    this.insert(a, b);
    this.count++;
    return true;
  }

  private findSlot(a: number, b: number): number {
    const mask = this.slots.length / 2 - 1;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const sb = this.slots[slot * 2 + 1]!;
      if (sb === 0) return -1;
      if (sb === b && this.slots[slot * 2] === a) return slot;
    }
  }

  private insert(a: number, b: number): void {
    const mask = this.slots.length / 2 - 1;
    let slot = a & mask;
    while (this.slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
    this.slots[slot * 2] = a;
    this.slots[slot * 2 + 1] = b;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
  }
}
