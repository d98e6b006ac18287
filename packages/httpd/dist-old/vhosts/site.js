/**
 * One loaded site: a webroot plus per-site caches of things derived from its
 * immutable index (header blocks, directory listings). Replaced whole on swap.
 */
export class Site {
    name;
    webroot;
    /** Fixed header lines per stored object (a file's identity or one of its variants). */
    headCache = new Map();
    listings;
    constructor(name, webroot) {
        this.name = name;
        this.webroot = webroot;
    }
    /** Entries directly inside directory `dir` ('/' or '/a/b'), sorted by path. */
    children(dir) {
        if (!this.listings) {
            const map = new Map();
            for (const e of this.webroot.all()) {
                if (e.path === '/')
                    continue;
                const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
                const list = map.get(parent) ?? [];
                list.push(e);
                map.set(parent, list);
            }
            for (const list of map.values())
                list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
            this.listings = map;
        }
        return this.listings.get(dir) ?? [];
    }
}
//# sourceMappingURL=site.js.map