import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { syncDirectory } from '@webroot/format/manifest';

/**
 * Points the vhost entry `name` at `target` atomically, as
 * `ln -s TARGET vhosts/.tmp && mv -T vhosts/.tmp vhosts/NAME` does: a symlink
 * under a dot-name (which the registry ignores), renamed over the entry. The
 * registry's watcher and rescan do the rest.
 */
export function pointEntry(vhostsDir: string, name: string, target: string): void {
  const temp = path.join(vhostsDir, `.follow-${name}-${crypto.randomBytes(4).toString('hex')}`);
  fs.symlinkSync(path.resolve(target), temp);
  try {
    fs.renameSync(temp, path.join(vhostsDir, name));
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  syncDirectory(vhostsDir);
}

/** Where an entry points, or null when it is missing or not a symlink. */
export function entryTarget(vhostsDir: string, name: string): string | null {
  try {
    return fs.readlinkSync(path.join(vhostsDir, name));
  } catch {
    return null;
  }
}

export function removeEntry(vhostsDir: string, name: string): void {
  fs.rmSync(path.join(vhostsDir, name), { force: true });
}

/** The preview host of a release: `<first 12 hex of digest>.<suffix>.<host>`. */
export function previewName(digest: string, suffix: string, host: string): string {
  return `${digest.slice(0, 12)}.${suffix}.${host}`;
}
