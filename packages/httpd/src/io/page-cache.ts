import fs from 'node:fs';
import os from 'node:os';
import type { PageCacheHints } from '@webroot/format';
import { requireNative } from './native.js';

/**
 * What httpd can learn of and ask from the page cache without waiting for the disk, through the native
 * addon (native/sendfile.c): whether a byte range of an open file is cached (preadv2(2) with RWF_NOWAIT,
 * `readNoWait`: Linux 4.14+, buffered reads since 5.9), and a background read of a range into it
 * (posix_fadvise POSIX_FADV_WILLNEED, `willNeed`). A lookup on a large site uses them
 * (io/lookup-prefetch.ts, Webroot.prefetch): an index page in memory is read at once, as before; one
 * that is not is read on the thread pool first, so that the event loop does not wait for the disk in any
 * IO mode, and the whole entry lookup table is asked into the page cache, so that a cold index costs one
 * sequential read rather than a random read per lookup. undefined where the addon is missing or the
 * kernel cannot say (then `sync` and `stream` look up synchronously, and `async` reads every index page
 * ahead, as they did before); WEBROOT_PAGE_CACHE_PROBE=off turns it off.
 */
interface PageCacheAddon {
  readNoWait(fd: number, buffer: Buffer, position: number): number;
  willNeed(fd: number, offset: number, length: number): number;
}

const EAGAIN = os.constants.errno.EAGAIN;
/** One posix_fadvise WILLNEED call's share of a range: 2 MiB, within Linux's default readahead window. */
export const WARM_CHUNK = 2 * 1024 * 1024;

/** Reads land here and are dropped: an index page is at most 64 KiB (SQLite's largest page). */
const scratch = Buffer.allocUnsafe(64 * 1024);

export function hintsFrom(addon: PageCacheAddon): PageCacheHints {
  return {
    // undefined for any answer but bytes or EAGAIN: a filesystem that cannot say (EOPNOTSUPP on some network
    // and FUSE mounts, whatever the file of the start-up check said) is treated as without the hints.
    resident(fd, position, size) {
      if (size > scratch.length) return false;
      const n = addon.readNoWait(fd, size === scratch.length ? scratch : scratch.subarray(0, size), position);
      return n >= 0 ? n === size : n === -EAGAIN ? false : undefined;
    },
    // The kernel reads at most its readahead window (read_ahead_kb) per posix_fadvise call, and a call
    // waits while the device's queue is full: a range goes in WARM_CHUNK steps, one per turn of the event
    // loop, so requests are answered in between (74 MiB, the 1M-entry table: ~37 steps, ~35 ms of calls).
    warm(fd, position, length, done) {
      let at = position;
      const end = position + length;
      const step = (): void => {
        const n = Math.min(WARM_CHUNK, end - at);
        if (n <= 0 || addon.willNeed(fd, at, n) !== 0) return done();
        at += n;
        setImmediate(step);
      };
      step();
    },
  };
}

/** The addon, when it loads and the kernel answers a no-wait read with bytes or "not cached". */
export function loadPageCacheAddon(): PageCacheAddon | undefined {
  if (process.platform !== 'linux') return undefined;
  let fd = -1;
  try {
    const addon = requireNative<PageCacheAddon>();
    if (typeof addon.readNoWait !== 'function' || typeof addon.willNeed !== 'function') return undefined;
    // EOPNOTSUPP, ENOSYS, EINVAL: the kernel or filesystem cannot say.
    fd = fs.openSync(process.execPath, 'r');
    const n = addon.readNoWait(fd, Buffer.allocUnsafe(1), 0);
    return n === 1 || n === -EAGAIN ? (addon as PageCacheAddon) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

const addon = process.env.WEBROOT_PAGE_CACHE_PROBE === 'off' ? undefined : loadPageCacheAddon();

/** Checked once per process. */
export const pageCacheHints: PageCacheHints | undefined = addon === undefined ? undefined : hintsFrom(addon);
