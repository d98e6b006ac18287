import { type Logger } from '../log.js';
import { Site } from './site.js';
export declare const DEFAULT_SITE = "__default__";
/** Entry names are host names, compared like Host values: lower case, no trailing dot. */
export declare function hostKey(entryName: string): string;
/**
 * The sites of a vhosts directory. `rescan()` re-resolves every entry and
 * loads what changed (by device, inode, size, mtime of the file it resolves
 * to). A new webroot is opened and validated before it replaces the old one;
 * the old one is retired and closes when its last response ends. Watch
 * events, SIGHUP and a periodic timer all just call `rescan()`.
 */
export declare class VhostRegistry {
    readonly dir: string;
    private readonly log;
    private readonly sites;
    /** Entries that failed, by name, with the identity that failed, so the same bad file is reported once. */
    private readonly refused;
    private watcher?;
    private timer?;
    private debounce?;
    constructor(dir: string, log: Logger);
    /** The site for a normalised host, falling back to __default__. */
    lookup(host: string): Site | undefined;
    get names(): string[];
    rescan(): void;
    private load;
    private refuse;
    /** Starts watching (a hint) and the periodic rescan. */
    watch(rescanIntervalMs: number, useWatch?: boolean): void;
    /** Stops watching; retires every site (each closes when its last response ends). */
    close(): void;
}
//# sourceMappingURL=registry.d.ts.map