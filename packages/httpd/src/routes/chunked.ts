/**
 * Incremental decoder of the chunked transfer coding (RFC 9112 section 7.1):
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *
 * Bytes in, decoded data and a state out; no IO. Chunk extensions are
 * skipped (7.1.1) and trailer fields discarded (7.1.2: a server may ignore
 * them). A bare LF is accepted as a line end, as in the head (RFC 9112 section 2.2).
 */

/** A chunk-size line (with extensions) or a trailer line longer than this is refused. */
export const MAX_CHUNK_LINE = 4096;
/** The whole trailer section may be at most this long. */
export const MAX_TRAILERS = 16 * 1024;

export type ChunkedOutcome =
  /** `data`: decoded bytes (views into the input); `done`: the body ended, `rest` are the bytes after it. */
  | { kind: 'ok'; data: Buffer[]; done: boolean; rest: Buffer | null }
  | { kind: 'error'; reason: string };

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

export class ChunkedDecoder {
  private state: State = 'size';
  private line = '';
  private left = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  push(buf: Buffer): ChunkedOutcome {
    const data: Buffer[] = [];
    let i = 0;
    const n = buf.length;
    while (i < n && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.left, n - i);
        data.push(buf.subarray(i, i + take));
        i += take;
        this.left -= take;
        if (this.left === 0) this.state = 'data-crlf';
        continue;
      }
      // A line: chunk-size [ext], the CRLF after data, or a trailer line.
      const lf = buf.indexOf(0x0a, i);
      const end = lf === -1 ? n : lf;
      this.line += buf.toString('latin1', i, end);
      if (this.line.length > MAX_CHUNK_LINE) return { kind: 'error', reason: 'chunk-size or trailer line too long' };
      i = lf === -1 ? n : lf + 1;
      if (lf === -1) break;
      const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      if (this.state === 'data-crlf') {
        if (line !== '') return { kind: 'error', reason: 'chunk data not followed by CRLF' };
        this.state = 'size';
      } else if (this.state === 'size') {
        const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
        if (m === null) return { kind: 'error', reason: 'malformed chunk-size' };
        if (/[\x00-\x08\x0a-\x1f\x7f]/.test(m[2] ?? '')) return { kind: 'error', reason: 'control character in a chunk extension' };
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else {
        // trailer-section = *( field-line CRLF ), then the empty line.
        this.trailerBytes += line.length + 2;
        if (this.trailerBytes > MAX_TRAILERS) return { kind: 'error', reason: 'trailer section too large' };
        if (line === '') this.state = 'done';
        else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line)) return { kind: 'error', reason: 'malformed trailer field' };
      }
    }
    const done = this.state === 'done';
    return { kind: 'ok', data, done, rest: done && i < n ? buf.subarray(i) : null };
  }
}
