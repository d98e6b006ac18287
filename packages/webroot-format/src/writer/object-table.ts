import { HASH_BYTES } from '../constants.js';

const INITIAL_OBJECTS = 1024;

/**
 * The objects stored so far, by SHA-256, in flat typed arrays: an open-addressing
 * table of object ids (linear probing, at most half full) over the hashes and
 * lengths kept by id. It answers "are these bytes stored already?" without a
 * round trip into SQLite: that `INSERT ... ON CONFLICT (hash) DO NOTHING` per
 * file, into a unique index on random keys, was a fifth of packing a million
 * files. About 56 bytes per object (32 of hash, 8 of length, 16 of slots), no
 * JavaScript object per entry. Ids are 1, 2, 3, ... in the order of add().
 */
export class ObjectTable {
  private hashes = Buffer.alloc(INITIAL_OBJECTS * HASH_BYTES);
  private lengths = new Float64Array(INITIAL_OBJECTS);
  /** id per slot, 0 = empty; the length is a power of two. */
  private slots = new Uint32Array(INITIAL_OBJECTS * 4);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The id of the object with this hash, or 0. */
  find(hash: Buffer): number {
    const mask = this.slots.length - 1;
    for (let slot = hash.readUInt32LE(0) & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]!;
      if (id === 0) return 0;
      if (this.hashes.compare(hash, 0, HASH_BYTES, (id - 1) * HASH_BYTES, id * HASH_BYTES) === 0) return id;
    }
  }

  /** The length of the object `id` (from find or add). */
  lengthOf(id: number): number {
    return this.lengths[id - 1]!;
  }

  /** Records a new object (the caller checked with find() that the hash is new); returns its id. */
  add(hash: Buffer, length: number): number {
    if (hash.length !== HASH_BYTES) throw new Error(`ObjectTable: a hash is ${HASH_BYTES} bytes, not ${hash.length}`);
    if (this.count === this.lengths.length) this.growRecords();
    if ((this.count + 1) * 2 > this.slots.length) this.growSlots();
    const id = ++this.count;
    hash.copy(this.hashes, (id - 1) * HASH_BYTES);
    this.lengths[id - 1] = length;
    this.place(id);
    return id;
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let slot = this.hashes.readUInt32LE((id - 1) * HASH_BYTES) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = id;
  }

  private growRecords(): void {
    const hashes = Buffer.alloc(this.hashes.length * 2);
    this.hashes.copy(hashes);
    this.hashes = hashes;
    const lengths = new Float64Array(this.lengths.length * 2);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  private growSlots(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    for (let id = 1; id <= this.count; id++) this.place(id);
  }
}
