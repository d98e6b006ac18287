/**
 * Checks a byte stream of HTTP/1.1 responses from our server: every response
 * well-formed (status line, field syntax, the fields every response carries,
 * Content-Length framing), and every 200/206 whose ETag names a stored
 * representation byte-exact against it.
 */

/** Stored bytes by strong ETag (each identity object and each variant). */
export type KnownBodies = ReadonlyMap<string, Buffer>;

export interface StreamCheck {
  responses: number;
  /** 200/206 bodies compared byte for byte with the stored representation. */
  verified: number;
  statuses: number[];
  problems: string[];
}

const STATUSES = new Set([200, 204, 206, 301, 304, 400, 404, 405, 406, 408, 412, 413, 414, 416, 431, 501, 503, 505]);
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([\x20-\x7e]*)$/;
const HTTP_START = Buffer.from('HTTP/1.1 ');

export interface CheckOptions {
  /** The request bytes held a HEAD somewhere: a response may carry Content-Length without its body. */
  mayBeHead: boolean;
  /** The connection was reset: the last response may be cut short (its bytes were in flight). */
  reset: boolean;
  /** The first request is certainly a HEAD: its response has no body, errors included (RFC 9110 section 9.3.2). */
  firstIsHead?: boolean;
}

export function checkResponseStream(data: Buffer, known: KnownBodies, opts: CheckOptions): StreamCheck {
  const out: StreamCheck = { responses: 0, verified: 0, statuses: [], problems: [] };
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end === -1) {
      if (!opts.reset) out.problems.push(`incomplete response head at byte ${pos}: ${JSON.stringify(data.toString('latin1', pos, pos + 120))}`);
      break;
    }
    const lines = data.toString('latin1', pos, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [\x20-\x7e]*$/.exec(lines[0]!);
    if (!m) {
      out.problems.push(`malformed status line ${JSON.stringify(lines[0])}`);
      break;
    }
    const status = Number(m[1]);
    out.statuses.push(status);
    out.responses++;
    if (!STATUSES.has(status)) out.problems.push(`unexpected status ${status}`);
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const f = FIELD.exec(line);
      if (!f) {
        out.problems.push(`malformed field line ${JSON.stringify(line)} in a ${status}`);
        continue;
      }
      const name = f[1]!.toLowerCase();
      if (fields.has(name)) out.problems.push(`field ${name} repeated in a ${status}`);
      fields.set(name, f[2]!);
    }
    if (fields.get('server') !== 'webroot') out.problems.push(`${status} without Server: webroot`);
    // A Location is built from the normalised path: never a network-path reference a browser would send elsewhere.
    const location = fields.get('location');
    if (location !== undefined && !/^\/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(\?[\x21-\x7e]*)?$/.test(location)) out.problems.push(`unsafe Location ${JSON.stringify(location)}`);
    if (!fields.has('date')) out.problems.push(`${status} without Date`);
    pos = end + 4;
    const bodiless = status === 204 || status === 304;
    const cl = fields.get('content-length');
    if (bodiless) {
      if (cl !== undefined) out.problems.push(`${status} with Content-Length`);
      continue;
    }
    if (cl === undefined || !/^\d+$/.test(cl)) {
      out.problems.push(`${status} without a valid Content-Length (${cl})`);
      break;
    }
    const length = Number(cl);
    const rest = data.subarray(pos);
    if (opts.firstIsHead && out.responses === 1 && rest.length > 0 && !rest.subarray(0, HTTP_START.length).equals(HTTP_START)) {
      out.problems.push(`${status} to HEAD carries a body: ${JSON.stringify(rest.toString('latin1', 0, 60))}`);
      break;
    }
    // A response to HEAD: the next response (or the end) follows the head at once. No stored body starts with "HTTP/1.1 ".
    if (opts.mayBeHead && length > 0 && (rest.length === 0 || rest.subarray(0, HTTP_START.length).equals(HTTP_START))) continue;
    if (rest.length < length) {
      if (!opts.reset) out.problems.push(`${status} body cut short: ${rest.length} of ${length} bytes`);
      break;
    }
    const body = rest.subarray(0, length);
    pos += length;
    const etag = fields.get('etag');
    const stored = etag === undefined ? undefined : known.get(etag);
    if (status === 200 && stored) {
      if (body.equals(stored)) out.verified++;
      else out.problems.push(`200 body for ${etag} differs from the stored bytes (${body.length} vs ${stored.length})`);
    } else if (status === 206 && stored) {
      const problem = checkPartial(fields, body, stored);
      if (problem) out.problems.push(`206 for ${etag}: ${problem}`);
      else out.verified++;
    } else if (status === 200 || status === 206) {
      if (etag !== undefined) out.problems.push(`${status} with an ETag ${etag} that names no stored representation`);
    }
  }
  return out;
}

function rangeOf(value: string | undefined, total: number): [number, number] | string {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value ?? '');
  if (!m) return `bad Content-Range ${JSON.stringify(value)}`;
  const [a, b, t] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (t !== total || a > b || b >= total) return `Content-Range ${value} does not fit ${total} bytes`;
  return [a, b];
}

/** A single part (Content-Range) or multipart/byteranges body against the stored bytes. */
function checkPartial(fields: Map<string, string>, body: Buffer, stored: Buffer): string | undefined {
  const type = fields.get('content-type') ?? '';
  const boundary = /^multipart\/byteranges; boundary=([\w-]+)$/.exec(type)?.[1];
  if (boundary === undefined) {
    const r = rangeOf(fields.get('content-range'), stored.length);
    if (typeof r === 'string') return r;
    return body.equals(stored.subarray(r[0], r[1] + 1)) ? undefined : `bytes ${r[0]}-${r[1]} differ`;
  }
  let pos = 0;
  let parts = 0;
  for (;;) {
    const delim = Buffer.from(`${parts === 0 ? '' : '\r\n'}--${boundary}`);
    if (!body.subarray(pos, pos + delim.length).equals(delim)) return `part ${parts}: no boundary at byte ${pos}`;
    pos += delim.length;
    if (body.toString('latin1', pos, pos + 4) === '--\r\n') return pos + 4 === body.length && parts >= 1 ? undefined : 'bad multipart ending';
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) return `part ${parts}: no head`;
    const range = /\r\nContent-Range: ([^\r]*)/i.exec(body.toString('latin1', pos, headEnd + 2))?.[1];
    const r = rangeOf(range, stored.length);
    if (typeof r === 'string') return `part ${parts}: ${r}`;
    pos = headEnd + 4;
    const len = r[1] - r[0] + 1;
    if (!body.subarray(pos, pos + len).equals(stored.subarray(r[0], r[1] + 1))) return `part ${parts}: bytes ${r[0]}-${r[1]} differ`;
    pos += len;
    parts++;
  }
}
