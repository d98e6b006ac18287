import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { digestFile } from '@webroot/format/manifest';
import type { Follower, FollowerStatus } from './follower.js';

/** `GET /status` (packages/httpd/README.md "Status"): what this node serves for each host. */
export interface NodeStatus {
  format: 'webroot-status/1';
  node: string;
  pid: number;
  time: string;
  hosts: Record<string, { digest: string | null; file: string | null; follow: FollowerStatus | null }>;
}

const CONTENT_ADDRESSED = /^([0-9a-f]{64})\.webroot$/;
/** Digests of entries that are not content-addressed, by file identity, so each file is hashed once. */
const digestCache = new Map<string, string>();

async function digestOf(file: string): Promise<string | null> {
  const named = CONTENT_ADDRESSED.exec(path.basename(file));
  if (named) return named[1]!;
  try {
    const s = fs.statSync(file);
    const id = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    let d = digestCache.get(id);
    if (!d) {
      d = await digestFile(file);
      if (digestCache.size > 1000) digestCache.clear();
      digestCache.set(id, d);
    }
    return d;
  } catch {
    return null;
  }
}

/**
 * Every vhost entry and the sha256 of the file it names (for a followed host,
 * the release the follower switched it to), with the follower's state. The
 * preview entries of followed hosts are listed under their host's `follow`.
 * Workers serve what the entry names within one rescan (at once with watch).
 */
export async function nodeStatus(vhostsDir: string, followers: Follower[]): Promise<NodeStatus> {
  const byHost = new Map(followers.map((f) => [f.spec.host, f.status()]));
  const previews = new Set([...byHost.values()].flatMap((s) => s.previews));
  const hosts: NodeStatus['hosts'] = {};
  let names: string[] = [];
  try {
    names = fs.readdirSync(vhostsDir).filter((n) => !n.startsWith('.') && !previews.has(n)).sort();
  } catch {
    // reported as no hosts
  }
  for (const name of names) {
    let file: string | null = null;
    try {
      file = fs.realpathSync(path.join(vhostsDir, name));
    } catch {
      // dangling: no digest
    }
    hosts[name.toLowerCase()] = { digest: file ? await digestOf(file) : null, file, follow: byHost.get(name.toLowerCase()) ?? null };
  }
  for (const [host, follow] of byHost) hosts[host] ??= { digest: null, file: null, follow };
  return { format: 'webroot-status/1', node: os.hostname(), pid: process.pid, time: new Date().toISOString(), hosts };
}
