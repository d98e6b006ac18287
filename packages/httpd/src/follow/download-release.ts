import fs from 'node:fs';
import { writeAllAt } from '@webroot/format/manifest';

export type DownloadOutcome =
  | { kind: 'complete'; resumedFrom: number; bytes: number }
  /** More bytes than the manifest's size, or a complete response with fewer: the channel's file is not the release. */
  | { kind: 'size-mismatch'; detail: string }
  /** Cut, stalled or refused by the server: the partial file stays, and the next attempt resumes it. */
  | { kind: 'interrupted'; detail: string; have: number };

interface PartialMeta {
  /** The strong validator (ETag, else Last-Modified) of the response the partial bytes came from. */
  validator: string | null;
}

function readMeta(file: string): PartialMeta {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as PartialMeta;
    return typeof m.validator === 'string' ? m : { validator: null };
  } catch {
    return { validator: null };
  }
}

/** The validator If-Range may carry: a strong ETag, else Last-Modified (RFC 9110 section 13.1.5: never a weak ETag). */
function strongValidator(res: Response): string | null {
  const etag = res.headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers.get('last-modified');
}

/**
 * Downloads `url` into `partial`, continuing what is already there: a GET
 * with `Range: bytes=N-` and `If-Range` (RFC 9110 sections 14.2 and 13.1.5),
 * so an unchanged file continues (206) and a changed one starts over (200).
 * A response that sends nothing for `stallMs` is abandoned. Never writes past
 * `size`.
 */
export async function downloadRelease(url: string, partial: string, size: number, stallMs: number, signal?: AbortSignal): Promise<DownloadOutcome> {
  const metaFile = `${partial}.json`;
  let have = 0;
  try {
    have = fs.statSync(partial).size;
  } catch {
    // nothing yet
  }
  const meta = readMeta(metaFile);
  if (have > size || (have > 0 && !meta.validator)) {
    fs.truncateSync(partial, 0);
    have = 0;
  }
  if (have === size) return { kind: 'complete', resumedFrom: have, bytes: 0 };

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  signal?.addEventListener('abort', onOuterAbort);
  let stalled = false;
  let timer = setTimeout(() => ((stalled = true), abort.abort()), stallMs);
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((stalled = true), abort.abort()), stallMs);
  };
  const headers: Record<string, string> = {};
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    headers['if-range'] = meta.validator!;
  }
  const fd = fs.openSync(partial, have > 0 ? 'r+' : 'w');
  let written = have;
  try {
    const res = await fetch(url, { headers, signal: abort.signal, redirect: 'follow' });
    alive();
    if (res.status === 206 && have > 0) {
      // RFC 9110 section 14.4: Content-Range must say the bytes start where ours end.
      const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!cr || Number(cr[1]) !== have) {
        await res.body?.cancel();
        fs.ftruncateSync(fd, 0);
        return { kind: 'interrupted', detail: `206 with Content-Range '${res.headers.get('content-range')}' for bytes=${have}-; starting over`, have: 0 };
      }
    } else if (res.status === 200) {
      fs.ftruncateSync(fd, 0);
      written = 0;
    } else {
      await res.body?.cancel();
      return { kind: 'interrupted', detail: `${res.status} ${res.statusText} from ${url}`, have };
    }
    const resumedFrom = written;
    fs.writeFileSync(metaFile, JSON.stringify({ validator: strongValidator(res) } satisfies PartialMeta));
    if (!res.body) return { kind: 'interrupted', detail: 'empty response', have: written };
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      alive();
      if (written + chunk.length > size) {
        abort.abort();
        fs.ftruncateSync(fd, 0);
        return { kind: 'size-mismatch', detail: `the channel sends more than the manifest's ${size} bytes` };
      }
      writeAllAt(fd, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), written);
      written += chunk.length;
    }
    if (written < size) {
      fs.ftruncateSync(fd, 0);
      return { kind: 'size-mismatch', detail: `the channel's file ends after ${written} of the manifest's ${size} bytes` };
    }
    fs.fsyncSync(fd);
    return { kind: 'complete', resumedFrom, bytes: written - resumedFrom };
  } catch (err) {
    const e = err as { cause?: { code?: string; message?: string }; message?: string };
    const detail = stalled ? `nothing received for ${stallMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
    return { kind: 'interrupted', detail, have: written };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onOuterAbort);
    fs.closeSync(fd);
  }
}
