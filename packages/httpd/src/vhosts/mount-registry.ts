import path from 'node:path';
import type { MountConfig } from '../config.js';
import type { Logger } from '../log.js';
import { VhostRegistry } from './registry.js';

/** The key of a mount in logs, metrics and /readyz: host and prefix, as a URL would show them. */
export const mountKey = (m: { host: string; prefix: string }) => `${m.host}${m.prefix}`;

/**
 * The webroots of [[mount]] entries: each a file or a symlink to one, loaded,
 * validated and swapped exactly like a vhost entry (same identity check, same
 * refusal of a bad file while the old one keeps serving), on the same
 * triggers: a watch of each webroot's directory, the periodic rescan, SIGHUP.
 */
export class MountRegistry extends VhostRegistry {
  constructor(
    readonly mounts: readonly MountConfig[],
    log: Logger,
  ) {
    super('', log);
  }

  override rescan(): void {
    for (const m of this.mounts) this.load(mountKey(m), m.webroot);
  }

  protected override watchedDirs(): string[] {
    return [...new Set(this.mounts.map((m) => path.dirname(m.webroot)))];
  }
}
