import fs from 'node:fs';
import { loadPublicKey } from '@webroot/format/manifest';
import type { HttpdConfig } from '../config.js';
import type { Logger } from '../log.js';
import { FOLLOW_DEFAULTS } from './follow-options.js';
import { Follower } from './follower.js';
import { nodeStatus } from './node-status.js';
import { startStatusServer } from './status-server.js';

export interface Deploy {
  followers: Follower[];
  /** What GET /status answers; for the admin listener to serve too. */
  status: () => ReturnType<typeof nodeStatus>;
  stop(): void;
}

/**
 * Starts what follows release channels, in the one process that should (the
 * primary, or the only process with --workers 0): one Follower per --follow
 * entry, and the --status listener. Options are checked by the CLI first.
 */
export async function startDeploy(config: HttpdConfig, log: Logger, holders: () => number[]): Promise<Deploy> {
  const followers = (config.follow ?? []).map(
    (spec) =>
      new Follower(spec, {
        vhostsDir: config.vhostsDir,
        releasesDir: config.releasesDir!,
        keep: config.keepReleases ?? FOLLOW_DEFAULTS.keep,
        publicKey: loadPublicKey(spec.key),
        log,
        holders: () => [process.pid, ...holders()],
      }),
  );
  const status = () => nodeStatus(config.vhostsDir, followers);
  let listener: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  if (config.status) {
    try {
      listener = await startStatusServer(config.status.host, config.status.port, status, log);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      process.stderr.write(`httpd: --status ${config.status.host}:${config.status.port}: cannot listen (${e.code ?? e.message}); choose another address or port\n`);
      process.exit(1);
    }
    log.log('info', 'status-listening', { url: listener.url });
  }
  if (followers.length > 0) fs.mkdirSync(config.releasesDir!, { recursive: true });
  for (const f of followers) f.start();
  return {
    followers,
    status,
    stop() {
      for (const f of followers) f.stop();
      listener?.server.close();
    },
  };
}
