/**
 * A seeded, bounded mutation fuzzer for HTTP/1.1 requests: valid seed requests,
 * then a few byte- and token-level mutations each. Deterministic for a seed, so
 * a failing case is reproduced by its seed and index alone.
 */

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Rng {
  int(n: number): number;
  pick<T>(list: readonly T[]): T;
  chance(p: number): boolean;
}

export function rngFrom(seed: number): Rng {
  const next = prng(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)]!,
    chance: (p) => next() < p,
  };
}

/** Largest request a case sends (the server's head limits are far below this). */
export const MAX_REQUEST_BYTES = 48 * 1024;

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT', 'PATCH', 'get', 'G E T', 'GET\x00', 'PRI', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.10', 'HTTP/1', 'HTTP/1.1 ', ''];
const PATH_PIECES = ['..', '.', '%2e%2e', '%2E.', '%00', '%2f', '%2F', '%5c', '\\', '//', '/', '%', '%zz', '%C0%AF', '%E0%80%AF', '%FF', '?', '#', ';', '*', 'index.html', 'big.bin', 'docs', 'caf%C3%A9.txt', '%20', '~'];
const HEADER_LINES = [
  'Host: x',
  'Host: example.test',
  'Host: ',
  'Host: x:99999',
  'Host: [::1]:80',
  'Host: a b',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: close, close, upgrade',
  'Content-Length: 0',
  'Content-Length: 5',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 3, 4',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: identity',
  'Accept-Encoding: br',
  'Accept-Encoding: gzip;q=0.5, br;q=0',
  'Accept-Encoding: identity;q=0, *;q=0',
  'Accept-Encoding: *',
  'Range: bytes=0-9',
  'Range: bytes=-5',
  'Range: bytes=5-',
  'Range: bytes=0-1,3-4,8-9',
  'Range: bytes=9-0',
  'Range: bytes=0-0,0-0,0-0',
  'Range: bytes=99999999-',
  'Range: bytes=' + '1-2,'.repeat(40) + '3-4',
  'Range: items=0-1',
  'If-Range: "nope"',
  'If-Range: Thu, 01 Jan 1970 00:00:00 GMT',
  'If-None-Match: *',
  'If-None-Match: "x", W/"y"',
  'If-Match: "nope"',
  'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT',
  'If-Unmodified-Since: garbage',
  'Expect: 100-continue',
  'Upgrade: h2c',
  ' obs-fold: continuation',
  'X: \xff\xfe bytes',
  'Bad Header: x',
  'NoColon',
  ': empty-name',
  'X-Long: ' + 'a'.repeat(9000),
];

const FILE_PATHS = ['/', '/index.html', '/about.html', '/big.bin', '/big.txt', '/empty.txt', '/docs', '/docs/', '/docs/guide.html', '/caf%C3%A9.txt', '/missing', '/a%20b.html', '/c%2B%2B.html'];

/** One valid request, the starting point of a case. */
export function seedRequest(rng: Rng): string {
  const method = rng.pick(['GET', 'GET', 'GET', 'HEAD', 'OPTIONS']);
  const target = rng.chance(0.1) ? `http://x${rng.pick(FILE_PATHS)}` : rng.pick(FILE_PATHS) + (rng.chance(0.15) ? '?q=1&r=%2F' : '');
  const lines = [`${method} ${method === 'OPTIONS' && rng.chance(0.5) ? '*' : target} ${rng.chance(0.9) ? 'HTTP/1.1' : 'HTTP/1.0'}`, 'Host: x'];
  const extra = rng.int(4);
  for (let i = 0; i < extra; i++) lines.push(rng.pick(HEADER_LINES.slice(17, 38)));
  let req = `${lines.join('\r\n')}\r\n\r\n`;
  // Pipelining: a second (and third) request on the same connection.
  if (rng.chance(0.25)) req += seedRequest(rng);
  return req;
}

type Mutation = (req: string, rng: Rng) => string;

const at = (s: string, rng: Rng) => rng.int(s.length + 1);

const MUTATIONS: Mutation[] = [
  // byte level
  (s, r) => {
    const i = r.int(Math.max(1, s.length));
    return s.slice(0, i) + String.fromCharCode(r.int(256)) + s.slice(i + 1);
  },
  (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + String.fromCharCode(r.int(256)) + s.slice(i);
  },
  (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + s.slice(i + 1 + r.int(8));
  },
  (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + r.pick(['\r', '\n', '\r\n', '\x00', ' ', '\t', ':', '\r\n\r\n', '\x16\x03\x01']) + s.slice(i);
  },
  (s, r) => s.slice(0, at(s, r)), // truncated: the server must time it out (408) or close
  (s, r) => s.replace(/\r\n/g, () => (r.chance(0.3) ? '\n' : '\r\n')), // bare LF line ends
  (s, r) => {
    const i = at(s, r);
    const chunk = s.slice(i, i + 1 + r.int(40));
    return s.slice(0, i) + chunk.repeat(2 + r.int(20)) + s.slice(i);
  },
  // token level
  (s, r) => s.replace(/^[^ ]*/, r.pick(METHODS)),
  (s, r) => s.replace(/HTTP\/1\.[01]/, r.pick(VERSIONS)),
  (s, r) => {
    const pieces = Array.from({ length: 1 + r.int(6) }, () => r.pick(PATH_PIECES));
    return s.replace(/^([^ ]* )([^ ]*)/, (_m, m1: string) => `${m1}/${pieces.join(r.chance(0.5) ? '/' : '')}`);
  },
  (s, r) => {
    const end = s.indexOf('\r\n');
    if (end === -1) return s;
    return `${s.slice(0, end + 2)}${r.pick(HEADER_LINES)}\r\n${s.slice(end + 2)}`;
  },
  (s, r) => {
    const lines = s.split('\r\n');
    const i = 1 + r.int(Math.max(1, lines.length - 2));
    lines.splice(i, 0, lines[i] ?? 'Host: x'); // a repeated field (Host twice, Content-Length twice, ...)
    return lines.join('\r\n');
  },
  (s) => s.replace(/\r\nHost:[^\r]*/, ''),
  (s, r) => s.replace(/\r\n\r\n/, `\r\n\r\n${'x'.repeat(r.int(12))}`), // body bytes after a head that announces none
];

/** A case: a seed request with 0-4 mutations (a few cases stay valid, as a control). */
export function fuzzCase(seed: number, index: number): Buffer {
  const rng = rngFrom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  let req = seedRequest(rng);
  const n = rng.chance(0.15) ? 0 : 1 + rng.int(4);
  for (let i = 0; i < n; i++) req = rng.pick(MUTATIONS)(req, rng);
  return Buffer.from(req.slice(0, MAX_REQUEST_BYTES), 'latin1');
}
