import type { StoredObject } from '@webroot/format';
/**
 * A byte-bounded LRU of small whole objects, in front of every IO mode.
 * Keyed by the object itself: a swapped-out webroot's objects simply age out.
 */
export declare class ObjectCache {
    readonly budget: number;
    private readonly map;
    private bytes;
    /** Objects larger than this are never cached. */
    readonly maxObject: number;
    constructor(budget: number);
    get enabled(): boolean;
    cacheable(object: StoredObject): boolean;
    get(object: StoredObject): Buffer | undefined;
    set(object: StoredObject, data: Buffer): void;
    get size(): number;
}
//# sourceMappingURL=object-cache.d.ts.map