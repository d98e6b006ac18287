import fs from 'node:fs';
import path from 'node:path';
import { copyFileAtomically, digestFile, releaseFileName, writeFileAtomically } from '@webroot/format/manifest';
import { MkrootError } from './errors.js';

/**
 * Where releases and manifests are published: a directory (atomic writes:
 * temporary name, fsync, rename) or an HTTP location that accepts PUT.
 * Names are `<digest>.webroot` and `<host>.json` (MANIFEST.md).
 */
export interface Channel {
  readonly where: string;
  /** The manifest text of a host, or null when there is none yet. */
  readManifest(host: string): Promise<string | null>;
  /** The size of a release already in the channel, or null. */
  releaseSize(digest: string): Promise<number | null>;
  putRelease(file: string, digest: string, size: number): Promise<void>;
  putManifest(host: string, text: string): Promise<void>;
  /** Digests of the releases present, when the channel can list them (a directory), else null. */
  listReleases(): Promise<string[] | null>;
}

export function openChannel(dirOrUrl: string): Channel {
  return /^https?:\/\//i.test(dirOrUrl) ? new HttpChannel(dirOrUrl) : new DirectoryChannel(dirOrUrl);
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

class DirectoryChannel implements Channel {
  constructor(readonly where: string) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(where);
    } catch (err) {
      if (errno(err) === 'ENOENT') throw new MkrootError('MKROOT_CHANNEL_UNREADABLE', `${where}: no such channel directory; create it (mkdir -p ${where}) or give another --channel`);
      throw new MkrootError('MKROOT_CHANNEL_UNREADABLE', `${where}: cannot read the channel directory (${errno(err)}); check its permissions`);
    }
    if (!stat.isDirectory()) throw new MkrootError('MKROOT_CHANNEL_UNREADABLE', `${where}: not a directory; --channel takes a directory or an http(s) URL`);
  }

  async readManifest(host: string): Promise<string | null> {
    const file = path.join(this.where, `${host}.json`);
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') return null;
      throw new MkrootError('MKROOT_CHANNEL_UNREADABLE', `${file}: cannot read the manifest (${errno(err)}); check its permissions`);
    }
  }

  async releaseSize(digest: string): Promise<number | null> {
    const file = path.join(this.where, releaseFileName(digest));
    try {
      const size = fs.statSync(file).size;
      // Content-addressed: a file under this name with other bytes was damaged, and is not the release.
      return (await digestFile(file)) === digest ? size : null;
    } catch {
      return null;
    }
  }

  async putRelease(file: string, digest: string): Promise<void> {
    await this.write(path.join(this.where, releaseFileName(digest)), (dest) => copyFileAtomically(file, dest));
  }

  async putManifest(host: string, text: string): Promise<void> {
    await this.write(path.join(this.where, `${host}.json`), (dest) => writeFileAtomically(dest, text));
  }

  async listReleases(): Promise<string[]> {
    return fs
      .readdirSync(this.where)
      .map((n) => /^([0-9a-f]{64})\.webroot$/.exec(n)?.[1])
      .filter((d): d is string => d !== undefined);
  }

  private async write(dest: string, how: (dest: string) => Promise<void>): Promise<void> {
    try {
      await how(dest);
    } catch (err) {
      throw new MkrootError('MKROOT_CHANNEL_UNWRITABLE', `${dest}: cannot write to the channel (${errno(err)}); check that ${this.where} is writable and has space`, { cause: err });
    }
  }
}

const MANIFEST_TIMEOUT_MS = 30_000;
const RELEASE_TIMEOUT_MS = 30 * 60_000;

class HttpChannel implements Channel {
  private readonly base: string;

  constructor(readonly where: string) {
    this.base = where.endsWith('/') ? where : `${where}/`;
  }

  private async request(method: string, name: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const url = new URL(name, this.base).href;
    try {
      return await fetch(url, { ...init, method, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      const code = method === 'PUT' ? 'MKROOT_CHANNEL_UNWRITABLE' : 'MKROOT_CHANNEL_UNREADABLE';
      throw new MkrootError(code, `${method} ${url}: cannot reach the channel (${cause}); check the URL and that its server is up`, { cause: err });
    }
  }

  async readManifest(host: string): Promise<string | null> {
    const res = await this.request('GET', `${host}.json`, { headers: { 'cache-control': 'no-cache' } }, MANIFEST_TIMEOUT_MS);
    if (res.status === 404) return null;
    if (!res.ok) throw new MkrootError('MKROOT_CHANNEL_UNREADABLE', `GET ${res.url}: ${res.status} ${res.statusText}; the channel must serve its manifests`);
    return res.text();
  }

  async releaseSize(digest: string): Promise<number | null> {
    const res = await this.request('HEAD', releaseFileName(digest), {}, MANIFEST_TIMEOUT_MS);
    if (!res.ok) return null;
    const n = Number(res.headers.get('content-length'));
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  }

  async putRelease(file: string, digest: string, size: number): Promise<void> {
    const body = fs.createReadStream(file) as unknown as ReadableStream;
    const init = { body, headers: { 'content-type': 'application/vnd.webroot', 'content-length': String(size) }, duplex: 'half' } as RequestInit;
    await this.put(releaseFileName(digest), init, RELEASE_TIMEOUT_MS);
  }

  async putManifest(host: string, text: string): Promise<void> {
    await this.put(`${host}.json`, { body: text, headers: { 'content-type': 'application/json' } }, MANIFEST_TIMEOUT_MS);
  }

  async listReleases(): Promise<null> {
    return null;
  }

  private async put(name: string, init: RequestInit, timeoutMs: number): Promise<void> {
    const res = await this.request('PUT', name, init, timeoutMs);
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) {
      throw new MkrootError(
        'MKROOT_CHANNEL_UNWRITABLE',
        `PUT ${res.url}: ${res.status} ${res.statusText}; the channel server must accept PUT there (or publish to a directory and sync it)`,
      );
    }
  }
}
