import fs from 'node:fs';
import path from 'node:path';
import { openWebroot } from '@webroot/format';
import {
  digestFile,
  isDigest,
  isHostName,
  loadPrivateKey,
  parseManifest,
  publicKeyOf,
  releaseFileName,
  serializeManifest,
  signManifest,
  verifyManifest,
  type SignedManifest,
  type StagedRelease,
} from '@webroot/format/manifest';
import { openChannel, type Channel } from './channel.js';
import { MkrootError } from './errors.js';
import { nextManifest, type PublishAction } from './next-manifest.js';

export interface PublishOptions {
  /** The webroot to publish or stage (not with promote/rollback). */
  site?: string;
  channel: string;
  /** Private key file from mkroot keygen. */
  key: string;
  host?: string;
  stage?: boolean;
  promote?: string;
  rollback?: string;
  now?: () => number;
}

export interface PublishResult {
  action: PublishAction['kind'];
  host: string;
  manifest: SignedManifest;
  /** False when the channel already held the release (content-addressed: not uploaded again). */
  uploaded: boolean;
}

/** The host a webroot is published for: --host, else its file name without `.webroot`. */
export function publishHost(opts: PublishOptions): string {
  const host = opts.host ?? (opts.site ? path.basename(opts.site).replace(/\.webroot$/, '') : undefined);
  if (host === undefined) throw new MkrootError('MKROOT_BAD_OPTION', '--host is required with --promote and --rollback; give the host the manifest is for');
  const key = host.toLowerCase().replace(/\.$/, '');
  if (!isHostName(key)) {
    throw new MkrootError('MKROOT_BAD_OPTION', `'${host}' is not a host name${opts.host ? '' : ` (taken from the file name ${opts.site})`}; give --host example.com`);
  }
  return key;
}

async function currentManifest(channel: Channel, host: string, publicKey: ReturnType<typeof publicKeyOf>, keyFile: string): Promise<SignedManifest | null> {
  const text = await channel.readManifest(host);
  if (text === null) return null;
  const where = `${channel.where.replace(/\/$/, '')}/${host}.json`;
  let m: SignedManifest;
  try {
    m = parseManifest(text, where);
  } catch (err) {
    throw new MkrootError('MKROOT_CHANNEL_MANIFEST', `${(err as Error).message.replace(/; publish it again with mkroot publish$/, '')}; fix it, or remove it to start the channel of ${host} over`);
  }
  if (m.host !== host) throw new MkrootError('MKROOT_CHANNEL_MANIFEST', `${where}: a manifest for ${m.host}, not ${host}; remove it or fix the channel`);
  if (!verifyManifest(m, publicKey)) {
    throw new MkrootError(
      'MKROOT_CHANNEL_MANIFEST',
      `${where}: signed by another key than ${keyFile}; publish with the key that signed it, or remove the manifest to start the channel of ${host} over with this key`,
    );
  }
  return m;
}

/** Checks the webroot fully (every byte against the index) before anything is written to the channel. */
async function checkedRelease(site: string): Promise<StagedRelease & { file: string }> {
  const w = openWebroot(site);
  try {
    w.verifyOrThrow();
  } finally {
    w.close();
  }
  const digest = await digestFile(site);
  return { file: site, digest, size: fs.statSync(site).size, url: releaseFileName(digest) };
}

async function releaseInChannel(channel: Channel, given: string, current: SignedManifest | null): Promise<StagedRelease> {
  const wanted = given.toLowerCase();
  const known = [current?.digest, current?.previous, current?.staged?.digest, ...((await channel.listReleases()) ?? [])].filter(
    (d): d is string => typeof d === 'string',
  );
  const matches = [...new Set(known.filter((d) => d.startsWith(wanted)))];
  let digest: string | undefined;
  if (isDigest(given.toLowerCase())) digest = wanted;
  else if (wanted.length >= 12 && matches.length === 1) digest = matches[0];
  else if (matches.length > 1) throw new MkrootError('MKROOT_BAD_OPTION', `digest prefix ${given} matches ${matches.length} releases; give more of it`);
  if (!digest) throw new MkrootError('MKROOT_RELEASE_NOT_FOUND', `${given}: no such release in ${channel.where}; give its digest (64 hex digits, or a unique prefix of 12 or more)`);
  const size = await channel.releaseSize(digest);
  if (size === null) throw new MkrootError('MKROOT_RELEASE_NOT_FOUND', `${channel.where}: has no intact ${releaseFileName(digest)}; publish that webroot again`);
  return { digest, size, url: releaseFileName(digest) };
}

/**
 * Publishes to a release channel: the release first (content-addressed, not
 * uploaded again when present), then, last, the signed manifest. Every check
 * (key, webroot, current manifest) happens before the first write.
 */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const modes = [opts.stage, opts.promote !== undefined, opts.rollback !== undefined].filter(Boolean).length;
  if (modes > 1) throw new MkrootError('MKROOT_BAD_OPTION', '--stage, --promote and --rollback exclude each other; give one');
  if ((opts.promote !== undefined || opts.rollback !== undefined) && opts.site) {
    throw new MkrootError('MKROOT_BAD_OPTION', `--promote and --rollback name a release already in the channel; give no SITE (got ${opts.site})`);
  }
  if (opts.promote === undefined && opts.rollback === undefined && !opts.site) throw new MkrootError('MKROOT_BAD_OPTION', 'give the webroot file to publish (or --promote/--rollback DIGEST)');
  const privateKey = loadPrivateKey(opts.key);
  const host = publishHost(opts);
  const channel = openChannel(opts.channel);
  const current = await currentManifest(channel, host, publicKeyOf(privateKey), opts.key);

  let action: PublishAction;
  let upload: (StagedRelease & { file: string }) | undefined;
  if (opts.promote !== undefined) action = { kind: 'promote', release: await releaseInChannel(channel, opts.promote, current) };
  else if (opts.rollback !== undefined) action = { kind: 'rollback', release: await releaseInChannel(channel, opts.rollback, current) };
  else {
    upload = await checkedRelease(opts.site!);
    action = { kind: opts.stage ? 'stage' : 'publish', release: { digest: upload.digest, size: upload.size, url: upload.url } };
  }

  const next = nextManifest(host, current, action, (opts.now ?? Date.now)());
  if (next.kind === 'refused') {
    if (next.reason === 'not-published') throw new MkrootError('MKROOT_NOT_PUBLISHED', `${channel.where}: nothing is published for ${host} yet; publish a release first (without --${action.kind})`);
    throw new MkrootError('MKROOT_BAD_OPTION', `${action.release.digest.slice(0, 12)} is already the release ${host} serves; nothing to ${action.kind}`);
  }
  let uploaded = false;
  if (upload && (await channel.releaseSize(upload.digest)) !== upload.size) {
    await channel.putRelease(upload.file, upload.digest, upload.size);
    uploaded = true;
  }
  const manifest = signManifest(next.fields, privateKey);
  await channel.putManifest(host, serializeManifest(manifest));
  return { action: action.kind, host, manifest, uploaded };
}
