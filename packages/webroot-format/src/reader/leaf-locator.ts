import fs from 'node:fs';

/**
 * Which page of an SQLite index B-tree (a WITHOUT ROWID table is one) holds a
 * key, found by walking the tree's interior pages in JavaScript, so that the
 * leaf can be read ahead on the thread pool (fs.read) before SQLite's own,
 * synchronous query reads it from the page cache: with several requests for
 * paths not cached in flight, their disk reads overlap instead of each
 * blocking the event loop in turn. A hint only: SQLite still answers every
 * lookup, so a wrong or missing answer here costs time, never correctness.
 *
 * The file format is SQLite's ("Database File Format", sqlite.org/fileformat2.html):
 * section 1.3 (the header: reserved bytes per page at offset 20), 1.6 (B-tree
 * pages: the page header, cell pointers, interior index cells, the local payload
 * limit X), 2.1 (the record format: header, serial types) and the varint of 1.6.
 * Interior pages are read once (synchronously) and kept: a million-entry table
 * has 373 of them (1.5 MB; the bench site). Leaves are never read here.
 */

const INTERIOR_INDEX = 0x02;
const LEAF_INDEX = 0x0a;

interface InteriorPage {
  /** The divider keys (each an entry in its own right), in order. */
  readonly keys: Buffer[];
  /** children[i]: the subtree of keys below keys[i]; children[keys.length]: the right-most pointer. */
  readonly children: number[];
}

/** A varint (section 1.6): big-endian, 7 bits a byte while the high bit is set, the 9th byte whole. */
function readVarint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[at + i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  return [value * 256 + buf[at + 8]!, at + 9];
}

export class LeafLocator {
  private readonly interiors = new Map<number, InteriorPage>();
  /** Interior levels above the leaves (0: the root is a leaf). */
  private readonly depth: number;
  private readonly maxLocal: number;

  /**
   * `readPage(n)` returns page n (1-based) whole; `root` is the tree's root page
   * (sqlite_schema.rootpage). Throws when the tree is not an index B-tree.
   */
  constructor(
    private readonly readPage: (page: number) => Buffer,
    private readonly root: number,
    usableSize: number,
  ) {
    this.maxLocal = Math.floor(((usableSize - 12) * 64) / 255) - 23;
    let depth = 0;
    for (let page = root; ; depth++) {
      if (depth > 40) throw new Error('B-tree deeper than 40 levels');
      const buf = this.readPage(page);
      const base = page === 1 ? 100 : 0;
      if (buf[base] === LEAF_INDEX) break;
      if (buf[base] !== INTERIOR_INDEX) throw new Error(`page ${page} is not an index B-tree page (type ${buf[base]})`);
      page = buf.readUInt32BE(buf.readUInt16BE(base + 12)); // the first cell's left child
    }
    this.depth = depth;
  }

  /**
   * The leaf page whose range holds `key` (compared as SQLite's BINARY collation
   * compares text: bytewise, then by length), or undefined when the key is one of
   * the interior pages' own entries, or a divider key overflows its page (not
   * walked: a path of about 1,000 bytes or more).
   */
  leafOf(key: Buffer): number | undefined {
    let page = this.root;
    for (let level = 0; level < this.depth; level++) {
      const node = this.interior(page);
      if (node === undefined) return undefined;
      const { keys, children } = node;
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (Buffer.compare(keys[mid]!, key) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo < keys.length && keys[lo]!.equals(key)) return undefined;
      page = children[lo]!;
    }
    return page;
  }

  /**
   * The first and last leaf pages of the tree: the left-most and right-most
   * leaves, reached through the first and last child of each interior level.
   * A tree written in key order (mkroot's VACUUM INTO copies each table in order)
   * keeps its pages, leaves and interiors, between these two; undefined when an
   * interior page on either path overflows.
   */
  leafSpan(): { first: number; last: number } | undefined {
    let first = this.root;
    let last = this.root;
    for (let level = 0; level < this.depth; level++) {
      const left = this.interior(first);
      const right = this.interior(last);
      if (left === undefined || right === undefined) return undefined;
      first = left.children[0]!;
      last = right.children[right.children.length - 1]!;
    }
    return first <= last ? { first, last } : { first: last, last: first };
  }

  /** The parsed interior page (read on first use); undefined when a cell's payload overflows. */
  private interior(page: number): InteriorPage | undefined {
    const cached = this.interiors.get(page);
    if (cached !== undefined) return cached;
    const buf = this.readPage(page);
    const base = page === 1 ? 100 : 0;
    if (buf[base] !== INTERIOR_INDEX) throw new Error(`page ${page} is not an interior index page`);
    const cells = buf.readUInt16BE(base + 3);
    const keys: Buffer[] = [];
    const children: number[] = [];
    for (let i = 0; i < cells; i++) {
      const cell = buf.readUInt16BE(base + 12 + 2 * i);
      children.push(buf.readUInt32BE(cell));
      const [payload, record] = readVarint(buf, cell + 4);
      if (payload > this.maxLocal) return undefined;
      const [headerSize, firstType] = readVarint(buf, record);
      const [serialType] = readVarint(buf, firstType);
      // The first column is the key (path TEXT): serial type 13 + 2n is text of n bytes.
      if (serialType < 13 || serialType % 2 === 0) throw new Error(`page ${page}: a key that is not text`);
      const start = record + headerSize;
      keys.push(buf.subarray(start, start + (serialType - 13) / 2));
    }
    children.push(buf.readUInt32BE(base + 8));
    const node = { keys, children };
    this.interiors.set(page, node);
    return node;
  }
}

/**
 * Reads ahead, on the thread pool, the leaf of the entry lookup table (FORMAT.md
 * section 1.3) that holds a path: `prefetch(path)` resolves once that page is in
 * the page cache, so the synchronous lookup that follows does not wait for the
 * disk on the event loop. Built on first use (the file's header, then one page
 * per tree level); any failure turns it off for good, since it is only a hint.
 */
export class LeafPrefetcher {
  private locator: LeafLocator | undefined;
  private pageSize = 0;
  private failed = false;

  constructor(
    private readonly fd: number,
    private readonly root: number,
  ) {}

  /** The leaf's page and size, or undefined (no read needed, or none possible). */
  leafOf(path: string): { position: number; size: number } | undefined {
    if (this.failed) return undefined;
    try {
      this.locator ??= this.build();
      const page = this.locator.leafOf(Buffer.from(path, 'utf8'));
      return page === undefined ? undefined : { position: (page - 1) * this.pageSize, size: this.pageSize };
    } catch {
      this.failed = true;
      return undefined;
    }
  }

  /**
   * The byte range of the file from the table's first leaf page to its last,
   * with the interior pages that lie between (FORMAT.md section 1.3: mkroot
   * writes the table in key order, so that is the table but its root page,
   * which SQLite allotted when the schema was made, and which every lookup
   * reads anyway): for
   * reading the whole table into the page cache at once, in large sequential
   * reads, instead of one random read per lookup. undefined when it cannot be
   * found, or spans more than `limit` bytes (not a table written in order).
   */
  span(limit: number): { position: number; length: number } | undefined {
    if (this.failed) return undefined;
    try {
      this.locator ??= this.build();
      const leaves = this.locator.leafSpan();
      if (leaves === undefined) return undefined;
      const length = (leaves.last - leaves.first + 1) * this.pageSize;
      return length > limit ? undefined : { position: (leaves.first - 1) * this.pageSize, length };
    } catch {
      this.failed = true;
      return undefined;
    }
  }

  private build(): LeafLocator {
    const header = Buffer.alloc(100);
    if (fs.readSync(this.fd, header, 0, 100, 0) !== 100) throw new Error('short header');
    const raw = header.readUInt16BE(16);
    this.pageSize = raw === 1 ? 65536 : raw;
    const usable = this.pageSize - header[20]!;
    const readPage = (page: number) => {
      const buf = Buffer.allocUnsafe(this.pageSize);
      if (fs.readSync(this.fd, buf, 0, this.pageSize, (page - 1) * this.pageSize) !== this.pageSize) throw new Error(`short read of page ${page}`);
      return buf;
    };
    return new LeafLocator(readPage, this.root, usable);
  }
}
