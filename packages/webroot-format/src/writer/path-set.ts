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

/**
 * A set of paths that may answer "maybe seen" for a path it never took (two
 * different paths with the same 64-bit hash pair), never "not seen" for one it
 * took: the writer asks SQLite only on a "maybe", so that the duplicate-path
 * check does not need one SQLite statement per entry. 8 bytes a slot, at most
 * half full: 16 MB for a million paths.
 */
export class PathSet {
  /** Pairs of words per slot: [hash a, hash b], b is odd in a used slot, 0 when empty. */
  private slots = new Uint32Array(INITIAL_SLOTS * 2);
  private count = 0;

  /** `hash` is replaceable so that tests can make paths collide. */
  constructor(private readonly hash: (path: string) => [number, number] = hashPair) {}

  /** Adds `path`; false when it may have been added before (a hash pair already present). */
  add(path: string): boolean {
    const [a, raw] = this.hash(path);
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
