import { describe, expect, it } from 'vitest';
import type { StoredObject } from '@webroot/format';
import { ObjectCache, admitOnSecondMiss } from '../src/io/object-cache.js';

const obj = (length: number, n: number): StoredObject => ({ offset: n * 1000, length, hash: Buffer.alloc(32, n), etag: `"${n}"` });
/** Stores `o`, missing twice if the cache's admission asks for that; the buffer kept. */
const put = (cache: ObjectCache, o: StoredObject, data: Buffer): Buffer => {
  const kept = cache.set(o, data);
  return cache.get(o) !== undefined ? kept : cache.set(o, data);
};

describe('ObjectCache', () => {
  it('keeps at most its budget in bytes, and never objects above maxObject', () => {
    const cache = new ObjectCache(16 * 1024);
    expect(cache.maxObject).toBe(1024);
    expect(cache.cacheable(obj(1025, 0))).toBe(false);
    for (let i = 0; i < 100; i++) put(cache, obj(1000, i), Buffer.alloc(1000, i));
    expect(cache.size).toBeLessThanOrEqual(16 * 1024);
    expect(cache.count).toBe(16);
  });

  it('gives recently used objects a second chance (CLOCK)', () => {
    const cache = new ObjectCache(16 * 1024, undefined, 'second-miss');
    const objects = Array.from({ length: 16 }, (_, i) => obj(1000, i));
    objects.forEach((o, i) => put(cache, o, Buffer.alloc(1000, i)));
    expect(cache.get(objects[0]!)?.[0]).toBe(0); // the oldest, but used
    const newcomer = obj(1000, 99);
    cache.set(newcomer, Buffer.alloc(1000)); // a first miss is only remembered
    expect(cache.get(newcomer)).toBeUndefined();
    cache.set(newcomer, Buffer.alloc(1000)); // the second miss gets in, evicting one
    expect(cache.get(objects[0]!)).toBeDefined(); // survived
    expect(cache.get(objects[1]!)).toBeUndefined(); // the oldest unused one went
  });

  it('stores an exact-size copy of a pooled slice, so a small object does not pin an 8 KiB slab', () => {
    const cache = new ObjectCache(1 << 20);
    const pooled = Buffer.allocUnsafe(100).fill(7); // a slice of Node's shared pool
    expect(pooled.buffer.byteLength).toBeGreaterThan(100);
    const kept = put(cache, obj(100, 1), pooled);
    expect(kept.buffer.byteLength).toBe(100);
    expect(kept.equals(pooled)).toBe(true);
    expect(cache.get(obj(100, 1))).toBeUndefined(); // keyed by identity, not by value
  });

  it('second-miss admission: an object gets in on its second miss only, even with room; objects asked for once never fill it', () => {
    const cache = new ObjectCache(16 * 1024, undefined, 'second-miss');
    const once = obj(1000, 50);
    cache.set(once, Buffer.alloc(1000)); // room, but a first miss: only remembered
    expect(cache.get(once)).toBeUndefined();
    expect(cache.count).toBe(0);
    const residents = Array.from({ length: 16 }, (_, i) => obj(1000, i));
    residents.forEach((o, i) => put(cache, o, Buffer.alloc(1000, i)));
    expect(cache.count).toBe(16);
    const passers = Array.from({ length: 1000 }, (_, i) => obj(1000, 100 + i));
    passers.forEach((o) => cache.set(o, Buffer.alloc(1000))); // 1,000 one-time misses
    expect(passers.filter((o) => cache.get(o) !== undefined)).toHaveLength(0);
    const again = passers[999]!;
    cache.set(again, Buffer.alloc(1000)); // missed before: in, in place of the oldest resident
    expect(cache.get(again)).toBeDefined();
    expect(cache.count).toBe(16);
    expect(residents.filter((o) => cache.get(o) !== undefined)).toHaveLength(15);
  });

  it('a budget of 0 caches nothing', () => {
    const cache = new ObjectCache(0);
    expect(cache.cacheable(obj(1, 1))).toBe(false);
    cache.set(obj(10, 1), Buffer.alloc(10));
    expect(cache.count).toBe(0);
  });

  describe('whole responses', () => {
    const HEADERS = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n';
    const DATE1 = 'Sat, 21 Nov 2026 10:00:00 GMT';
    const DATE2 = 'Sat, 21 Nov 2026 10:00:01 GMT';

    it('is the status line, the header lines, Date and the body, in one buffer', () => {
      const cache = new ObjectCache(1 << 20);
      const o = obj(5, 1);
      expect(cache.response(o, HEADERS, 1, DATE1)).toBeUndefined(); // not cached: nothing to build from
      put(cache, o, Buffer.from('hello'));
      const r = cache.response(o, HEADERS, 1, DATE1)!;
      expect(r.toString('latin1')).toBe(`${HEADERS}Date: ${DATE1}\r\n\r\nhello`);
      expect(cache.get(o)!.toString()).toBe('hello');
    });

    it('gets the new Date in place when no write is reading it, and is rebuilt when one may be', () => {
      let busy = false;
      const cache = new ObjectCache(1 << 20, () => busy);
      const o = obj(5, 1);
      put(cache, o, Buffer.from('hello'));
      const first = cache.response(o, HEADERS, 1, DATE1)!;
      const patched = cache.response(o, HEADERS, 2, DATE2)!;
      expect(patched).toBe(first);
      expect(patched.toString('latin1')).toBe(`${HEADERS}Date: ${DATE2}\r\n\r\nhello`);
      busy = true;
      const DATE3 = 'Sat, 21 Nov 2026 10:00:02 GMT';
      const rebuilt = cache.response(o, HEADERS, 3, DATE3)!;
      expect(rebuilt).not.toBe(first);
      expect(first.toString('latin1')).toContain(DATE2); // what a write in progress reads is left alone
      expect(rebuilt.toString('latin1')).toBe(`${HEADERS}Date: ${DATE3}\r\n\r\nhello`);
      expect(cache.size).toBe(rebuilt.length);
    });

    it('is built once per second and header block, and never modified in place while written', () => {
      const cache = new ObjectCache(1 << 20);
      const o = obj(5, 1);
      put(cache, o, Buffer.from('hello'));
      const first = cache.response(o, HEADERS, 1, DATE1)!;
      const copy = Buffer.from(first);
      expect(cache.response(o, HEADERS, 1, DATE1)).toBe(first); // same second: the same buffer
      const next = cache.response(o, HEADERS, 2, DATE2)!;
      expect(next).not.toBe(first);
      expect(next.toString('latin1')).toContain(`Date: ${DATE2}\r\n\r\nhello`);
      expect(first.equals(copy)).toBe(true); // a write still holding the old one sees the old bytes
      const other = cache.response(o, 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n', 2, DATE2)!;
      expect(other.toString('latin1')).toBe(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nDate: ${DATE2}\r\n\r\nhello`);
      expect(cache.get(o)!.toString()).toBe('hello');
    });

    it('counts the head against the budget, holds the body once, and frees both on eviction', () => {
      const cache = new ObjectCache(16 * 1024);
      const a = obj(1000, 1);
      put(cache, a, Buffer.alloc(1000, 1));
      const r = cache.response(a, HEADERS, 1, DATE1)!;
      expect(cache.size).toBe(r.length); // the head plus the body, not the body twice
      expect(cache.get(a)!.buffer).toBe(r.buffer); // the body is a view into the response
      for (let i = 2; i < 40; i++) {
        const o = obj(1000, i);
        put(cache, o, Buffer.alloc(1000, i)); // a second miss: admitted even when full
      }
      expect(cache.get(a)).toBeUndefined();
      expect(cache.size).toBeLessThanOrEqual(16 * 1024);
      expect(cache.size).toBe(cache.count * 1000); // nothing of a's response is still counted
    });
  });

  // Last: admitOnSecondMiss() switches the whole process (this test file's module), as loading a large site does.
  describe('admission by default (first miss) and after a large site (second miss)', () => {
    /** Three passes in order over `n` objects, as the 10,000-file rotation requests them; the hits of the last pass. */
    const rotate = (cache: ObjectCache, n: number): number => {
      const objects = Array.from({ length: n }, (_, i) => obj(100, i));
      let hits = 0;
      for (let pass = 0; pass < 3; pass++) {
        for (const o of objects) {
          if (cache.get(o) !== undefined) {
            if (pass === 2) hits++;
          } else cache.set(o, Buffer.alloc(100));
        }
      }
      return hits;
    };

    it('while every site is small, an in-order rotation over more objects than the doorkeeper remembers is cached whole', () => {
      expect(rotate(new ObjectCache(4 << 20), 10_000)).toBe(10_000);
    });

    it('first-miss admission holds only while the object fits: a full cache takes a newcomer on its second miss', () => {
      const cache = new ObjectCache(16 * 1024, undefined, 'first-miss');
      for (let i = 0; i < 16; i++) cache.set(obj(1000, i), Buffer.alloc(1000)); // first misses, with room: all in
      expect(cache.count).toBe(16);
      const newcomer = obj(1000, 99);
      cache.set(newcomer, Buffer.alloc(1000)); // full: only remembered, nothing evicted for it
      expect(cache.get(newcomer)).toBeUndefined();
      expect(cache.count).toBe(16);
      cache.set(newcomer, Buffer.alloc(1000)); // its second miss: in
      expect(cache.get(newcomer)).toBeDefined();
    });

    it('a cache with second-miss admission caches none of that rotation (why small sites keep first-miss admission)', () => {
      expect(rotate(new ObjectCache(4 << 20, undefined, 'second-miss'), 10_000)).toBe(0);
    });

    it('after admitOnSecondMiss(), new caches of the process admit on the second miss; a cache given first-miss keeps it', () => {
      admitOnSecondMiss();
      const cache = new ObjectCache(16 * 1024);
      const o = obj(1000, 1);
      cache.set(o, Buffer.alloc(1000));
      expect(cache.get(o)).toBeUndefined();
      cache.set(o, Buffer.alloc(1000));
      expect(cache.get(o)).toBeDefined();
      const fixed = new ObjectCache(16 * 1024, undefined, 'first-miss');
      fixed.set(o, Buffer.alloc(1000));
      expect(fixed.get(o)).toBeDefined();
    });
  });
});
