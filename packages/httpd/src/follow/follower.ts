import fs from 'node:fs';
import path from 'node:path';
import type crypto from 'node:crypto';
import { openWebroot } from '@webroot/format';
import {
  digestFile,
  parseManifest,
  releaseFileName,
  syncDirectory,
  verifyManifest,
  type SignedManifest,
} from '@webroot/format/manifest';
import { errorFields, type Logger } from '../log.js';
import { decideManifest, REFUSAL_REASONS, type RefusalReason } from './decide-manifest.js';
import { EMPTY_STATE, loadFollowState, saveFollowState, type SavedState } from './follow-state.js';
import { downloadRelease } from './download-release.js';
import type { FollowSpec } from './follow-options.js';
import { isOpenByAny } from './open-files.js';
import { planRetention } from './plan-retention.js';
import { entryTarget, pointEntry, previewName, removeEntry } from './vhost-entry.js';

export interface FollowerDeps {
  vhostsDir: string;
  releasesDir: string;
  keep: number;
  publicKey: crypto.KeyObject;
  log: Logger;
  /** Processes that may still read a release (the workers, and this one): a file is deleted only when none has it open. */
  holders: () => number[];
}

/** What a follower reports for `GET /status` and metrics. */
export interface FollowerStatus {
  host: string;
  manifest: string;
  state: 'starting' | 'idle' | 'downloading' | 'unreachable';
  lastPoll: string | null;
  lastChange: string | null;
  lastError: { time: string; message: string } | null;
  refusals: Record<RefusalReason, number>;
  current: { digest: string; created: string } | null;
  staged: string | null;
  releases: string[];
  previews: string[];
  downloads: { completed: number; resumed: number; bytes: number };
}

const MAX_MANIFEST_BYTES = 64 * 1024;
const MAX_HISTORY = 100;

type FetchResult = { kind: 'ok' } | { kind: 'refused'; reason: RefusalReason; detail: string } | { kind: 'interrupted'; detail: string };

/**
 * Follows one host's release channel (packages/httpd/README.md "Following a
 * release channel"): polls the manifest with If-None-Match, fetches new
 * releases with resumable ranged GETs, checks size, digest and a full
 * verify, then points the vhost entry at the new file. Refusals change
 * nothing. One cycle at a time; the next starts `interval` after one ends.
 */
export class Follower {
  private readonly dir: string;
  private readonly stateFile: string;
  private state: SavedState = { ...EMPTY_STATE };
  private readonly status_: FollowerStatus;
  private timer?: NodeJS.Timeout;
  private readonly abort = new AbortController();
  private stopped = false;
  private pendingDelete = new Set<string>();
  private refusedStaged = new Set<string>();

  constructor(
    readonly spec: FollowSpec,
    private readonly deps: FollowerDeps,
  ) {
    this.dir = path.join(deps.releasesDir, spec.host);
    this.stateFile = path.join(this.dir, 'state.json');
    this.status_ = {
      host: spec.host,
      manifest: spec.manifest,
      state: 'starting',
      lastPoll: null,
      lastChange: null,
      lastError: null,
      refusals: Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>,
      current: null,
      staged: null,
      releases: [],
      previews: [],
      downloads: { completed: 0, resumed: 0, bytes: 0 },
    };
  }

  status(): FollowerStatus {
    return structuredClone(this.status_);
  }

  /** Loads the saved state, restores a missing vhost entry, and starts polling at once. */
  start(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    this.loadState();
    const current = this.currentDigest();
    if (current && entryTarget(this.deps.vhostsDir, this.spec.host) === null && fs.existsSync(this.releasePath(current))) {
      pointEntry(this.deps.vhostsDir, this.spec.host, this.releasePath(current));
    }
    this.deps.log.log('info', 'follow-started', { host: this.spec.host, manifest: this.spec.manifest, current: current ?? null, intervalMs: this.spec.intervalMs });
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.cycle();
    } catch (err) {
      this.failed(`unexpected: ${(err as Error).message}`);
      this.deps.log.log('error', 'follow-failed', { host: this.spec.host, ...errorFields(err), stack: (err as Error).stack });
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.loop(), this.spec.intervalMs);
  }

  private currentDigest(): string | undefined {
    return this.state.served[this.state.served.length - 1];
  }

  private releasePath(digest: string): string {
    return path.join(this.dir, releaseFileName(digest));
  }

  private async cycle(): Promise<void> {
    this.status_.lastPoll = new Date().toISOString();
    let res: Response;
    try {
      res = await fetch(this.spec.manifest, {
        headers: this.state.etag ? { 'if-none-match': this.state.etag } : {},
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.spec.timeoutMs)]),
      });
    } catch (err) {
      const e = err as { cause?: { code?: string }; name?: string; message?: string };
      return this.failed(`manifest unreachable (${e.name === 'TimeoutError' ? `no answer within ${this.spec.timeoutMs} ms` : (e.cause?.code ?? e.message)})`);
    }
    if (res.status === 304) return this.housekeeping();
    if (res.status !== 200) {
      await res.body?.cancel();
      return this.failed(`manifest: ${res.status} ${res.statusText}`);
    }
    const etag = res.headers.get('etag');
    const declared = Number(res.headers.get('content-length') ?? 0);
    let text: string;
    try {
      if (declared > MAX_MANIFEST_BYTES) {
        await res.body?.cancel();
        text = '';
      } else text = await res.text();
    } catch (err) {
      return this.failed(`manifest: ${(err as Error).message}`);
    }
    let m: SignedManifest;
    try {
      if (text.length === 0 || text.length > MAX_MANIFEST_BYTES) throw new Error(`${this.spec.manifest}: not a valid release manifest: empty or over ${MAX_MANIFEST_BYTES} bytes`);
      m = parseManifest(text, this.spec.manifest);
    } catch (err) {
      return this.refuse('bad-manifest', (err as Error).message, etag);
    }
    if (m.host !== this.spec.host) return this.refuse('wrong-host', `the manifest is for ${m.host}`, etag);
    if (!verifyManifest(m, this.deps.publicKey)) return this.refuse('bad-signature', 'the signature does not verify with the configured key', etag);
    const decision = decideManifest(this.state, m);
    if (decision.kind === 'refuse') return this.refuse(decision.reason, decision.detail, etag);
    if (decision.kind === 'accept') {
      if (decision.switchTo) {
        const got = await this.fetchRelease(m.digest, m.size, m.url);
        if (got.kind === 'interrupted') return this.failed(`download of ${m.digest.slice(0, 12)} interrupted (${got.detail}); resuming at the next poll`);
        if (got.kind === 'refused') return this.refuse(got.reason, got.detail, etag);
        const previous = this.currentDigest() ?? null;
        pointEntry(this.deps.vhostsDir, this.spec.host, this.releasePath(m.digest));
        this.state.served = [...this.state.served.filter((d) => d !== m.digest), m.digest].slice(-MAX_HISTORY);
        this.status_.lastChange = new Date().toISOString();
        this.deps.log.log('info', 'follow-swapped', { host: this.spec.host, digest: m.digest, previous, rollback: m.rollback, created: m.created });
      }
      this.state.accepted = m;
      this.refusedStaged.clear();
    }
    this.state.etag = etag;
    await this.saveState();
    await this.housekeeping();
  }

  /** Fetches the staged release, keeps previews in step, applies retention. Runs after every poll. */
  private async housekeeping(): Promise<void> {
    const m = this.state.accepted;
    const staged = m?.staged ?? null;
    if (staged && !this.state.fetched.includes(staged.digest) && !this.refusedStaged.has(staged.digest)) {
      const got = await this.fetchRelease(staged.digest, staged.size, staged.url);
      if (got.kind === 'interrupted') return this.failed(`download of staged ${staged.digest.slice(0, 12)} interrupted (${got.detail}); resuming at the next poll`);
      if (got.kind === 'refused') {
        this.refusedStaged.add(staged.digest);
        this.count(got.reason, `staged release: ${got.detail}`);
      } else this.deps.log.log('info', 'follow-staged', { host: this.spec.host, digest: staged.digest });
    }
    const plan = planRetention(this.state.fetched, this.deps.keep, [this.currentDigest(), staged?.digest]);
    this.syncPreviews(plan.keep);
    for (const d of plan.remove) this.pendingDelete.add(d);
    this.deletePending();
    this.reachable();
    this.status_.current = m && this.currentDigest() ? { digest: this.currentDigest()!, created: m.created } : null;
    this.status_.staged = staged && this.state.fetched.includes(staged.digest) ? staged.digest : null;
    this.status_.releases = plan.keep;
  }

  private syncPreviews(keep: string[]): void {
    const suffix = this.spec.previewSuffix;
    const wanted = new Map(suffix ? keep.map((d) => [previewName(d, suffix, this.spec.host), d] as const) : []);
    const ours = new RegExp(`^[0-9a-f]{12}\\.${(suffix ?? 'preview').replace(/\./g, '\\.')}\\.${this.spec.host.replace(/\./g, '\\.')}$`);
    for (const name of fs.readdirSync(this.deps.vhostsDir)) {
      if (ours.test(name) && !wanted.has(name)) removeEntry(this.deps.vhostsDir, name);
    }
    for (const [name, digest] of wanted) {
      if (entryTarget(this.deps.vhostsDir, name) !== this.releasePath(digest)) pointEntry(this.deps.vhostsDir, name, this.releasePath(digest));
    }
    this.status_.previews = [...wanted.keys()];
  }

  /** Deletes releases retention let go, once no process of this server has them open (their preview entries are gone already). */
  private deletePending(): void {
    for (const digest of this.pendingDelete) {
      const file = this.releasePath(digest);
      if (isOpenByAny(file, this.deps.holders())) {
        this.deps.log.log('debug', 'follow-delete-deferred', { host: this.spec.host, digest, why: 'still open' });
        continue;
      }
      fs.rmSync(file, { force: true });
      this.pendingDelete.delete(digest);
      this.state.fetched = this.state.fetched.filter((d) => d !== digest);
      this.deps.log.log('info', 'follow-release-removed', { host: this.spec.host, digest });
      void this.saveState();
    }
  }

  private async fetchRelease(digest: string, size: number, url: string): Promise<FetchResult> {
    const final = this.releasePath(digest);
    if (this.state.fetched.includes(digest) && fs.existsSync(final)) return { kind: 'ok' };
    const partial = path.join(this.dir, `.partial-${releaseFileName(digest)}`);
    const absolute = new URL(url, this.spec.manifest);
    if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') {
      return { kind: 'refused', reason: 'bad-manifest', detail: `the release url ${absolute.protocol} is not http or https` };
    }
    this.status_.state = 'downloading';
    const started = Date.now();
    const got = await downloadRelease(absolute.href, partial, size, this.spec.timeoutMs, this.abort.signal);
    const discard = () => {
      fs.rmSync(partial, { force: true });
      fs.rmSync(`${partial}.json`, { force: true });
    };
    if (got.kind === 'interrupted') return { kind: 'interrupted', detail: got.detail };
    if (got.kind === 'size-mismatch') {
      discard();
      return { kind: 'refused', reason: 'size-mismatch', detail: got.detail };
    }
    const actual = await digestFile(partial);
    if (actual !== digest) {
      discard();
      return { kind: 'refused', reason: 'digest-mismatch', detail: `the file's sha256 is ${actual.slice(0, 12)}, the manifest says ${digest.slice(0, 12)}` };
    }
    try {
      const w = openWebroot(partial);
      try {
        w.verifyOrThrow();
      } finally {
        w.close();
      }
    } catch (err) {
      discard();
      return { kind: 'refused', reason: 'corrupt-release', detail: (err as Error).message };
    }
    fs.renameSync(partial, final);
    fs.rmSync(`${partial}.json`, { force: true });
    syncDirectory(this.dir);
    this.state.fetched = [...this.state.fetched.filter((d) => d !== digest), digest];
    this.status_.downloads.completed++;
    if (got.resumedFrom > 0) this.status_.downloads.resumed++;
    this.status_.downloads.bytes += got.bytes;
    this.deps.log.log('info', 'follow-downloaded', { host: this.spec.host, digest, size, resumedFrom: got.resumedFrom, ms: Date.now() - started });
    await this.saveState();
    return { kind: 'ok' };
  }

  private count(reason: RefusalReason, detail: string): void {
    this.status_.refusals[reason]++;
    this.status_.lastError = { time: new Date().toISOString(), message: `refused (${reason}): ${detail}` };
    this.deps.log.log('warn', 'follow-refused', { host: this.spec.host, reason, detail, manifest: this.spec.manifest, keeping: this.currentDigest() ?? null });
  }

  /** A refusal: counted and logged; the manifest's ETag is remembered so the same bytes are not refused again each poll. */
  private async refuse(reason: RefusalReason, detail: string, etag: string | null): Promise<void> {
    this.count(reason, detail);
    this.state.etag = etag;
    await this.saveState();
    this.reachable();
  }

  private reachable(): void {
    if (this.status_.state === 'unreachable') this.deps.log.log('info', 'follow-recovered', { host: this.spec.host, manifest: this.spec.manifest });
    this.status_.state = 'idle';
  }

  /** Not a refusal: the channel could not be read, or a download was cut. The next poll tries again. */
  private failed(message: string): void {
    const wasDown = this.status_.state === 'unreachable';
    this.status_.state = 'unreachable';
    this.status_.lastError = { time: new Date().toISOString(), message };
    if (!wasDown) this.deps.log.log('warn', 'follow-unreachable', { host: this.spec.host, manifest: this.spec.manifest, error: message });
  }

  private loadState(): void {
    try {
      this.state = loadFollowState(this.stateFile, (d) => fs.existsSync(this.releasePath(d)));
    } catch (err) {
      this.deps.log.log('warn', 'follow-state-unreadable', { host: this.spec.host, file: this.stateFile, ...errorFields(err), starting: 'fresh' });
    }
  }

  private saveState(): Promise<void> {
    return saveFollowState(this.stateFile, this.state);
  }
}
