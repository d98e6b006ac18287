import type { Entry, StoredObject, Webroot } from '@webroot/format';
/**
 * One loaded site: a webroot plus per-site caches of things derived from its
 * immutable index (header blocks, directory listings). Replaced whole on swap.
 */
export declare class Site {
    readonly name: string;
    readonly webroot: Webroot;
    /** Fixed header lines per stored object (a file's identity or one of its variants). */
    readonly headCache: Map<StoredObject, string>;
    private listings?;
    constructor(name: string, webroot: Webroot);
    /** Entries directly inside directory `dir` ('/' or '/a/b'), sorted by path. */
    children(dir: string): Entry[];
}
//# sourceMappingURL=site.d.ts.map