import fs from 'node:fs';
import path from 'node:path';
import { openWebroot } from '@webroot/format';
import { errorFields } from '../log.js';
import { Site } from './site.js';
export const DEFAULT_SITE = '__default__';
function sameIdentity(a, b) {
    return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
/** Entry names are host names, compared like Host values: lower case, no trailing dot. */
export function hostKey(entryName) {
    const lower = entryName.toLowerCase();
    return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
/**
 * The sites of a vhosts directory. `rescan()` re-resolves every entry and
 * loads what changed (by device, inode, size, mtime of the file it resolves
 * to). A new webroot is opened and validated before it replaces the old one;
 * the old one is retired and closes when its last response ends. Watch
 * events, SIGHUP and a periodic timer all just call `rescan()`.
 */
export class VhostRegistry {
    dir;
    log;
    sites = new Map();
    /** Entries that failed, by name, with the identity that failed, so the same bad file is reported once. */
    refused = new Map();
    watcher;
    timer;
    debounce;
    constructor(dir, log) {
        this.dir = dir;
        this.log = log;
    }
    /** The site for a normalised host, falling back to __default__. */
    lookup(host) {
        return this.sites.get(host) ?? this.sites.get(DEFAULT_SITE);
    }
    get names() {
        return [...this.sites.keys()].sort();
    }
    rescan() {
        let names;
        try {
            names = fs.readdirSync(this.dir);
        }
        catch (err) {
            this.log.log('error', 'vhosts-unreadable', { dir: this.dir, ...errorFields(err) });
            return;
        }
        const seen = new Set();
        for (const name of names) {
            if (name.startsWith('.'))
                continue; // temporary names of atomic deploys (vhosts/.tmp)
            const key = hostKey(name);
            seen.add(key);
            this.load(key, path.join(this.dir, name));
        }
        for (const [key, site] of this.sites) {
            if (seen.has(key))
                continue;
            this.sites.delete(key);
            site.webroot.retire();
            this.log.log('info', 'vhost-removed', { vhost: key });
        }
        for (const key of this.refused.keys())
            if (!seen.has(key))
                this.refused.delete(key);
    }
    load(key, entryPath) {
        const current = this.sites.get(key);
        let stat;
        try {
            stat = fs.statSync(entryPath);
        }
        catch (err) {
            this.refuse(key, entryPath, `stat:${err.code}`, err, current !== undefined);
            return;
        }
        const identity = { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
        if (current && sameIdentity(current.webroot.identity, identity))
            return;
        const idKey = `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeMs}`;
        if (this.refused.get(key) === idKey)
            return;
        const started = process.hrtime.bigint();
        try {
            const webroot = openWebroot(entryPath);
            this.sites.set(key, new Site(key, webroot));
            this.refused.delete(key);
            current?.webroot.retire();
            this.log.log('info', current ? 'vhost-swapped' : 'vhost-loaded', {
                vhost: key,
                file: entryPath,
                target: safeRealpath(entryPath),
                entries: webroot.size,
                ms: Number(process.hrtime.bigint() - started) / 1e6,
            });
        }
        catch (err) {
            this.refuse(key, entryPath, idKey, err, current !== undefined);
        }
    }
    refuse(key, entryPath, idKey, err, keptOld) {
        if (this.refused.get(key) === idKey)
            return;
        this.refused.set(key, idKey);
        this.log.log(keptOld ? 'warn' : 'error', 'vhost-refused', {
            vhost: key,
            file: entryPath,
            ...errorFields(err),
            ...(keptOld ? { keeping: 'previous version' } : {}),
        });
    }
    /** Starts watching (a hint) and the periodic rescan. */
    watch(rescanIntervalMs, useWatch = true) {
        const schedule = () => {
            clearTimeout(this.debounce);
            this.debounce = setTimeout(() => this.rescan(), 10);
        };
        if (useWatch) {
            try {
                this.watcher = fs.watch(this.dir, { persistent: false }, schedule);
                this.watcher.on('error', (err) => this.log.log('warn', 'watch-failed', { dir: this.dir, ...errorFields(err) }));
            }
            catch (err) {
                this.log.log('warn', 'watch-failed', { dir: this.dir, ...errorFields(err), fallback: 'periodic rescan only' });
            }
        }
        if (rescanIntervalMs > 0) {
            this.timer = setInterval(() => this.rescan(), rescanIntervalMs);
            this.timer.unref();
        }
    }
    /** Stops watching; retires every site (each closes when its last response ends). */
    close() {
        this.watcher?.close();
        clearInterval(this.timer);
        clearTimeout(this.debounce);
        for (const site of this.sites.values())
            site.webroot.retire();
        this.sites.clear();
    }
}
function safeRealpath(p) {
    try {
        return fs.realpathSync(p);
    }
    catch {
        return undefined;
    }
}
//# sourceMappingURL=registry.js.map