import fs from 'node:fs';
import path from 'node:path';
import { loadPublicKey } from '@webroot/format/manifest';
import type { HttpdConfig } from '../config.js';
import { FOLLOW_DEFAULTS, parseFollowSpec, parseListenAddress, type FollowSpec } from './follow-options.js';

type DeployConfig = Pick<HttpdConfig, 'follow' | 'releasesDir' | 'keepReleases' | 'status'>;

/**
 * Checks the deploy options once, at start-up (specs, keys, the releases
 * directory, the status address), into config fields; or returns the one
 * line that says what is wrong. A configuration file's follow entries go
 * through followSpecFromFields and can join here as `specs`.
 */
export function deployConfig(raw: { follow?: string[]; specs?: FollowSpec[]; releases?: string; keep?: string; status?: string }, vhostsDir: string): DeployConfig | { error: string } {
  const follow: FollowSpec[] = [...(raw.specs ?? [])];
  for (const text of raw.follow ?? []) {
    const p = parseFollowSpec(text);
    if (p.kind === 'error') return { error: `--follow ${text}: ${p.message}` };
    follow.push(p.value);
  }
  const hosts = new Set<string>();
  for (const f of follow) {
    if (hosts.has(f.host)) return { error: `--follow: host ${f.host} is followed twice; give one --follow per host` };
    hosts.add(f.host);
    try {
      loadPublicKey(f.key);
    } catch (err) {
      return { error: `--follow host=${f.host}: key ${(err as Error).message}` };
    }
  }
  let keepReleases: number | undefined;
  if (raw.keep !== undefined) {
    keepReleases = Number(raw.keep);
    if (!/^\d+$/.test(raw.keep) || keepReleases < 1 || keepReleases > 1000) return { error: '--keep must be a whole number from 1 to 1000 (releases kept per followed host)' };
  }
  let releasesDir: string | undefined;
  if (raw.releases !== undefined) {
    releasesDir = path.resolve(raw.releases);
    if (path.resolve(vhostsDir) === releasesDir) return { error: `--releases ${raw.releases}: must not be VHOSTS_DIR itself; give a directory beside it, e.g. releases/` };
    try {
      fs.mkdirSync(releasesDir, { recursive: true });
      fs.accessSync(releasesDir, fs.constants.W_OK);
    } catch (err) {
      return { error: `--releases ${raw.releases}: cannot create or write it (${(err as NodeJS.ErrnoException).code}); check its permissions` };
    }
  }
  if (follow.length > 0 && !releasesDir) return { error: '--follow needs --releases DIR, where the releases it fetches are kept' };
  if (follow.length > 0) {
    try {
      fs.accessSync(vhostsDir, fs.constants.W_OK);
    } catch {
      return { error: `${vhostsDir}: not writable; --follow points its entries there` };
    }
  }
  let status: DeployConfig['status'];
  if (raw.status !== undefined) {
    const p = parseListenAddress(raw.status);
    if (p.kind === 'error') return { error: `--status ${p.message}` };
    status = p.value;
  }
  return { follow, releasesDir, keepReleases: keepReleases ?? FOLLOW_DEFAULTS.keep, status };
}
