import { describe, expect, it } from 'vitest';
import type { StoredObject } from '@webroot/format';
import { ObjectCache } from '../src/io/object-cache.js';

const obj = (length: number, n: number): StoredObject => ({ offset: n * 1000, length, hash: Buffer.alloc(32, n), etag: `"${n}"` });

describe('ObjectCache', () => {
  it('keeps at most its budget in bytes, and never objects above maxObject', () => {
    const cache = new ObjectCache(16 * 1024);
    expect(cache.maxObject).toBe(1024);
    expect(cache.cacheable(obj(1025, 0))).toBe(false);
    for (let i = 0; i < 100; i++) cache.set(obj(1000, i), Buffer.alloc(1000, i));
    expect(cache.size).toBeLessThanOrEqual(16 * 1024);
    expect(cache.count).toBe(16);
  });

  it('gives recently used objects a second chance (CLOCK)', () => {
    const cache = new ObjectCache(16 * 1024);
    const objects = Array.from({ length: 16 }, (_, i) => obj(1000, i));
    objects.forEach((o, i) => cache.set(o, Buffer.alloc(1000, i)));
    expect(cache.get(objects[0]!)?.[0]).toBe(0); // the oldest, but used
    cache.set(obj(1000, 99), Buffer.alloc(1000));
    expect(cache.get(objects[0]!)).toBeDefined(); // survived
    expect(cache.get(objects[1]!)).toBeUndefined(); // the oldest unused one went
  });

  it('stores an exact-size copy of a pooled slice, so a small object does not pin an 8 KiB slab', () => {
    const cache = new ObjectCache(1 << 20);
    const pooled = Buffer.allocUnsafe(100).fill(7); // a slice of Node's shared pool
    expect(pooled.buffer.byteLength).toBeGreaterThan(100);
    const kept = cache.set(obj(100, 1), pooled);
    expect(kept.buffer.byteLength).toBe(100);
    expect(kept.equals(pooled)).toBe(true);
    expect(cache.get(obj(100, 1))).toBeUndefined(); // keyed by identity, not by value
  });

  it('a budget of 0 caches nothing', () => {
    const cache = new ObjectCache(0);
    expect(cache.cacheable(obj(1, 1))).toBe(false);
    cache.set(obj(10, 1), Buffer.alloc(10));
    expect(cache.count).toBe(0);
  });
});
