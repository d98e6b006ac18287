import fs from 'node:fs';
import os from 'node:os';
import type { HttpResponse } from '../http/response.js';
import { ALIGNED_OBJECT_MIN } from '@webroot/format';
import type { IoMode } from './executors.js';
import { requireNative } from './native.js';

/**
 * The sendfile(2) addon (packages/httpd/native/sendfile.c): `send` writes a
 * response head (MSG_MORE) and then a byte range of an open file into a
 * non-blocking socket, without copying the bytes through user memory, and
 * returns how many bytes the kernel took (negative: -errno).
 */
export interface SendfileAddon {
  send(socketFd: number, fileFd: number, offset: number, length: number, head?: string | Buffer): number;
  probe(): number;
  /** cachestat(2): 1 when every page of the range is in the page cache, 0 when one is not, -errno (-ENOSYS before Linux 6.5). */
  cached(fd: number, offset: number, length: number): number;
}

/** Whether the addon is usable in this process, and if not, why (logged once at debug). */
export type SendfileSupport = { kind: 'on'; addon: SendfileAddon } | { kind: 'off'; reason: string };

/**
 * WEBROOT_SENDFILE: unset or `auto` (the default): on in the `stream` and `sync` modes for bodies from
 * SENDFILE_MIN_BODY to SENDFILE_AUTO_MAX_BODY, and in `async` mode for those whose pages cachestat(2) says
 * are cached (modeUsesSendfile); `on` (1): in those modes for every body from SENDFILE_MIN_BODY
 * up; `all`: the same in `async` too; `off` (0): never.
 *
 * Why the window (packages/httpd/README.md, "sendfile(2)"): on loopback, bodies of 64 KiB to 1 MiB that
 * start at a page boundary of the file (mkroot aligns them: FORMAT.md section 2) took 8-30% less CPU per
 * response by sendfile than as one write from the object cache, while 20 MB bodies came 20-45% slower,
 * because the receiver then copies out of 4 KiB page-cache pages instead of the sender's larger fragments,
 * and the load generator is the bottleneck. `on`/`all` are for receivers elsewhere.
 */
export type SendfileSetting = 'auto' | 'off' | 'on' | 'all';

/** The IO modes that `auto` and `on` cover: `stream` is the "sendfile-like" mode (DESIGN.md); `async` stays a thread-pool executor (sendfile reads the disk on the calling thread). */
export const SENDFILE_MODES: readonly IoMode[] = ['stream', 'sync'];

/**
 * Bodies from this size up go by sendfile (`bench/ab.sh`, 64 KiB from a page boundary: 36.5 against 42.4 µs of
 * CPU per response). Smaller ones leave as one write with their head; it is also where mkroot starts to
 * align objects (ALIGNED_OBJECT_MIN).
 */
export const SENDFILE_MIN_BODY = ALIGNED_OBJECT_MIN;

/** `auto`: bodies up to this size (the object cache's largest object, object-cache.ts) go by sendfile; larger ones are pumped. */
export const SENDFILE_AUTO_MAX_BODY = 1024 * 1024;

export function parseSendfileSetting(value: string | undefined): SendfileSetting | Error {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'off' || value === '0') return 'off';
  if (value === 'on' || value === '1') return 'on';
  if (value === 'all') return 'all';
  return new Error(`WEBROOT_SENDFILE=${value}: expected auto (the default: 64 KiB to 1 MiB in the stream and sync modes, and in async mode once the page cache holds the body), on (every body from 64 KiB, stream and sync), all (every IO mode) or off`);
}

/**
 * Whether IO mode `mode` uses sendfile under `setting`. `auto` in `async` mode: only for a body whose pages
 * are all in the page cache (cachestat(2), `bodyCached`), since sendfile would read a missing one on the
 * event loop; where the kernel cannot say (before Linux 6.5), not at all.
 */
export function modeUsesSendfile(setting: SendfileSetting, mode: IoMode): boolean {
  return setting === 'all' || (setting !== 'off' && SENDFILE_MODES.includes(mode)) || (setting === 'auto' && mode === 'async' && cachestatWorks);
}

/** Whether `mode` sends a body by sendfile only once its pages are known to be cached (`auto` in async mode). */
export function sendfileNeedsCached(setting: SendfileSetting, mode: IoMode): boolean {
  return setting === 'auto' && mode === 'async';
}

/** Whether every page of `range` of the file `fd` is in the page cache (cachestat(2)); false where unknown. */
export function bodyCached(fd: number, range: FileRange): boolean {
  return sendfileSupport.kind === 'on' && sendfileSupport.addon.cached(fd, range.offset, range.length) === 1;
}

/** The largest body that goes by sendfile under `setting`. */
export function sendfileMaxBody(setting: SendfileSetting): number {
  return setting === 'auto' ? SENDFILE_AUTO_MAX_BODY : Number.MAX_SAFE_INTEGER;
}

/** A byte range of the webroot file, absolute, for sendfile. */
export interface FileRange {
  offset: number;
  length: number;
}

/**
 * The file range to send for `res` with sendfile, or undefined for the usual path: a body that is one
 * stored object's byte range (a whole file, a precompressed variant as stored, or a single range) of at
 * least `minBody` and at most `maxBody` bytes. HEAD, 304 and 204 have no body; multipart ranges and generated bodies (listings,
 * error pages) have buffer segments, so none of them qualify.
 */
export function sendfileRange(res: Pick<HttpResponse, 'body' | 'bodyLength'>, minBody: number, maxBody = Number.MAX_SAFE_INTEGER): FileRange | undefined {
  if (res.body.length !== 1 || res.bodyLength < minBody || res.bodyLength > maxBody) return undefined;
  const seg = res.body[0]!;
  if (seg.kind !== 'object' || seg.end - seg.start !== res.bodyLength) return undefined;
  return { offset: seg.object.offset + seg.start, length: seg.end - seg.start };
}

/** Errors that say sendfile cannot be used for this file or socket at all (not that the client went away). */
const UNSUPPORTED = new Set([os.constants.errno.EINVAL, os.constants.errno.ENOSYS, os.constants.errno.EOPNOTSUPP, os.constants.errno.ENOTSUP].filter((e) => e !== undefined).map((e) => -e));

export function isUnsupported(result: number): boolean {
  return UNSUPPORTED.has(result);
}

/** The errno name of a negative result, for logs. */
export function errnoName(result: number): string {
  for (const [name, code] of Object.entries(os.constants.errno)) if (code === -result) return name;
  return `errno ${-result}`;
}

const parsedSetting = parseSendfileSetting(process.env.WEBROOT_SENDFILE);
/** WEBROOT_SENDFILE as given (an unknown value is refused at start-up by the CLI, and means `off` here). */
export const sendfileSetting: SendfileSetting = parsedSetting instanceof Error ? 'off' : parsedSetting;
/** The CLI's start-up check of WEBROOT_SENDFILE: the message when its value is unknown. */
export const sendfileSettingProblem: string | undefined = parsedSetting instanceof Error ? parsedSetting.message : undefined;

function load(): SendfileSupport {
  const setting = sendfileSetting;
  if (setting === 'off') return { kind: 'off', reason: 'WEBROOT_SENDFILE=off' };
  if (process.platform !== 'linux') return { kind: 'off', reason: `sendfile(2) is used on Linux only (this is ${process.platform})` };
  if (process.env.WEBROOT_PORTABLE_SOCKETS === '1') return { kind: 'off', reason: 'WEBROOT_PORTABLE_SOCKETS=1' };
  try {
    const addon = requireNative<SendfileAddon>();
    if (typeof addon.send !== 'function' || typeof addon.probe !== 'function' || typeof addon.cached !== 'function') return { kind: 'off', reason: 'the addon does not export send, probe and cached; run pnpm build' };
    if (addon.probe() !== 1) return { kind: 'off', reason: 'the kernel refused a test sendfile(2) into a socketpair' };
    return { kind: 'on', addon: addon as SendfileAddon };
  } catch (err) {
    return { kind: 'off', reason: `the addon did not load (${(err as Error).message.split('\n')[0]}); run pnpm build` };
  }
}

/** Checked once per process, at start-up. */
export let sendfileSupport: SendfileSupport = load();

/** Whether cachestat(2) answers here (Linux 6.5+), asked once of this program's own file. */
export const cachestatWorks = ((): boolean => {
  if (sendfileSupport.kind !== 'on') return false;
  let fd = -1;
  try {
    fd = fs.openSync(process.execPath, 'r');
    return sendfileSupport.addon.cached(fd, 0, 1) >= 0;
  } catch {
    return false;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
})();

/** Whether the addon is loaded (the `listening` log line's `sendfile`). */
export const sendfileLoaded = sendfileSupport.kind === 'on';

/** Turns the path off for the rest of the process (a kernel or file that refuses sendfile). */
export function disableSendfile(reason: string): void {
  sendfileSupport = { kind: 'off', reason };
}

/** For the `listening` log line: whether IO mode `mode` answers large bodies with sendfile(2) in this process. */
export function sendfileInUse(mode: IoMode): boolean {
  return sendfileSupport.kind === 'on' && modeUsesSendfile(sendfileSetting, mode);
}

let reported = false;
/** Logs once per process, at debug, why the addon is off (the portable path answers). */
export function reportSendfileOnce(log: { log(level: 'debug', event: string, fields?: Record<string, unknown>): void }): void {
  if (reported || sendfileSupport.kind === 'on') return;
  reported = true;
  log.log('debug', 'sendfile-off', { reason: sendfileSupport.reason });
}
