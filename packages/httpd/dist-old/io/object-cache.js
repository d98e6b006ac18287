/**
 * A byte-bounded LRU of small whole objects, in front of every IO mode.
 * Keyed by the object itself: a swapped-out webroot's objects simply age out.
 */
export class ObjectCache {
    budget;
    map = new Map();
    bytes = 0;
    /** Objects larger than this are never cached. */
    maxObject;
    constructor(budget) {
        this.budget = budget;
        this.maxObject = Math.min(256 * 1024, Math.floor(budget / 16));
    }
    get enabled() {
        return this.budget > 0;
    }
    cacheable(object) {
        return this.budget > 0 && object.length <= this.maxObject;
    }
    get(object) {
        const hit = this.map.get(object);
        if (hit) {
            // refresh recency
            this.map.delete(object);
            this.map.set(object, hit);
        }
        return hit;
    }
    set(object, data) {
        if (!this.cacheable(object) || this.map.has(object))
            return;
        this.map.set(object, data);
        this.bytes += data.length;
        for (const [k, v] of this.map) {
            if (this.bytes <= this.budget)
                break;
            this.map.delete(k);
            this.bytes -= v.length;
        }
    }
    get size() {
        return this.bytes;
    }
}
//# sourceMappingURL=object-cache.js.map