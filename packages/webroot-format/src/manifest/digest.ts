import crypto from 'node:crypto';
import fs from 'node:fs';

/** sha256 of a whole file, lower-case hex: a release's digest and its name in a channel. */
export async function digestFile(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The name of a release in a channel and in a node's releases directory. */
export function releaseFileName(digest: string): string {
  return `${digest}.webroot`;
}

/** What previews and `mkroot status` show of a digest. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 12);
}
