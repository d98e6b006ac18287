import { describe, expect, it } from 'vitest';
import { RequestHeaders, type RequestHead } from '../src/http/parse-request.js';
import { combinedBound, combinedLine, jsonBound, jsonLine, putCombined, putJson } from '../src/server/log-formats.js';
import type { Site } from '../src/vhosts/site.js';
import { combinedLineV1, jsonLineV1 } from './helpers/log-lines-v1.js';

interface Fields {
  method?: string;
  target?: string;
  minor?: number;
  protocol?: string;
  host?: string;
  ua?: string;
  referer?: string;
}

function head(f: Fields): RequestHead {
  const h = new RequestHeaders();
  h.host = f.host;
  h['user-agent'] = f.ua;
  h.referer = f.referer;
  return { method: f.method ?? 'GET', target: f.target ?? '/', minor: f.minor ?? 1, headers: h, hostCount: 1, contentLength: 0, chunked: false, keepAlive: true, ...(f.protocol !== undefined ? { protocol: f.protocol } : {}) };
}
const site = (digest: string) => ({ webroot: { meta: { dataSha256: digest } } }) as unknown as Site;
const wire = (bytes: number[]) => Buffer.from(bytes).toString('latin1');
const WHEN = [new Date(0), new Date(Date.UTC(2026, 11, 1, 14, 9, 5, 7)), new Date(Date.UTC(1999, 0, 31, 23, 59, 59, 999))];

/** UTF-8, as a line reaches the file (a lone surrogate becomes U+FFFD either way). */
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/** Compares both formats with the string code httpd used before (helpers/log-lines-v1.ts), byte for byte as written, and checks the bounds hold. */
function same(remote: string | undefined, h: RequestHead | null, status: number, bytes: number, s: Site | undefined, durationMs: number, when: Date): void {
  const r = { remote, head: h, status, bytes, site: s, durationMs };
  const json = jsonLine(r, when);
  expect(utf8(json)).toBe(utf8(jsonLineV1(r, when)));
  expect(Buffer.byteLength(json)).toBeLessThanOrEqual(jsonBound(remote, h, s));
  const clf = combinedLine(remote, h, status, bytes, when);
  expect(utf8(clf)).toBe(utf8(combinedLineV1(remote, h, status, bytes, when)));
  expect(Buffer.byteLength(clf)).toBeLessThanOrEqual(combinedBound(remote, h));
}

const LONG_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const cases: [string, Fields | null, string | undefined][] = [
  ['plain request', { host: '127.0.0.1:20612' }, '127.0.0.1'],
  ['no request head (a connection-level error)', null, '10.0.0.1'],
  ['no remote address', { host: 'example.com' }, undefined],
  ['IPv6 remote', { host: '[::1]:8080' }, '::ffff:127.0.0.1'],
  ['path and query', { target: '/a%20b?x=1&y="2"', host: 'Example.COM.' }, '127.0.0.1'],
  ['empty query', { target: '/a?' }, '127.0.0.1'],
  ['query only after a long path', { target: `/${'p'.repeat(40)}?${'q'.repeat(40)}` }, '127.0.0.1'],
  ['long plain User-Agent and Referer', { ua: LONG_UA, referer: `http://r.example/${'x'.repeat(60)}` }, '127.0.0.1'],
  ['long User-Agent with a quote near the end', { ua: `${LONG_UA} "q"` }, '127.0.0.1'],
  ['UTF-8 bytes as sent (latin1 text)', { ua: wire([0x63, 0x61, 0x66, 0xc3, 0xa9]), referer: wire([0xe9, 0x74, 0xe9]) }, '127.0.0.1'],
  ['quotes, backslashes, controls, DEL', { ua: 'say "hi"\\ \t\r\n\u0007\u007f', referer: '\u0000\u001f' }, '127.0.0.1'],
  ['empty values', { ua: '', referer: '', host: '' }, '127.0.0.1'],
  ['an invalid Host', { host: 'bad host:99999' }, '127.0.0.1'],
  ['chars beyond latin1 (not from the wire)', { ua: '\u20ac \ud83d\ude00 lone \ud800 end', target: '/\u00e9\u20ac' }, '127.0.0.1'],
  ['HTTP/1.0', { minor: 0 }, '127.0.0.1'],
  ['HTTP/2.0', { protocol: 'HTTP/2.0', method: 'HEAD' }, '127.0.0.1'],
  ['a long method token', { method: 'PROPPATCHEXTENDEDMETHODNAME' }, '127.0.0.1'],
];

describe('log lines written into buffers match the string formats byte for byte (json: RFC 8259 §7 via ECMA-262 QuoteJSONString; combined: nginx escape=default)', () => {
  it.each(cases)('%s', (_name, f, remote) => {
    for (const when of WHEN) same(remote, f === null ? null : head(f), f === null ? 400 : 200, f === null ? 0 : 1024, f === null ? undefined : site('ab'.repeat(32)), 0.0123, when);
  });

  it.each([
    [0],
    [0.0004],
    [0.0005],
    [0.001],
    [1.23456],
    [12.5],
    [1e-7],
    [999.9995],
    [123456.789],
    [2147483.647],
    [2147483.648],
    [4294967.2965],
    [1e13],
    [-0.0001],
    [-5.25],
  ])('duration %d ms is written as String(Math.round(ms * 1000) / 1000)', (ms) => {
    same('127.0.0.1', head({}), 200, 5, undefined, ms, WHEN[1]!);
  });

  it.each([
    [200, 0],
    [304, 0],
    [206, 1],
    [200, 2_147_483_647],
    [200, 2_147_483_648],
    [200, 4_294_967_296],
    [999, 9_007_199_254_740_991],
    [100, 1.5],
  ])('status %d, bytes %d', (status, bytes) => {
    same('127.0.0.1', head({}), status, bytes, undefined, 1, WHEN[1]!);
  });

  it("the caller's clock (nowMs, the read's Date.now()) gives the line of that time (ECMA-262 §21.4.4.36 toISOString), in any order of milliseconds and seconds", () => {
    const h = head({ host: '127.0.0.1:20612', ua: LONG_UA });
    const s = site('ab'.repeat(32));
    const b = Buffer.alloc(jsonBound('127.0.0.1', h, s) + combinedBound('127.0.0.1', h));
    const t = Date.UTC(2026, 11, 1, 23, 59, 59, 998);
    // Within a second, across seconds, minutes, a day and back: every memo must follow the time it is given (0 is
    // not a time here: it means 'read the clock')
    for (const ms of [t, t + 1, t + 2, t + 3, t + 1000, t, -1, 1, 999, 1000, 86_399_999, 86_400_000, t + 60_001, t + 1]) {
      const when = new Date(ms);
      const r = { remote: '127.0.0.1', head: h, status: 200, bytes: 1024, site: s, durationMs: 0.0123 };
      expect(b.toString('utf8', 0, putJson(b, 0, '127.0.0.1', h, 200, 1024, s, 0.0123, undefined, ms))).toBe(jsonLineV1(r, when));
      expect(b.toString('utf8', 0, putCombined(b, 0, '127.0.0.1', h, 200, 1024, undefined, ms))).toBe(combinedLineV1('127.0.0.1', h, 200, 1024, when));
    }
  });

  it('the bound holds for the largest expansions (6 bytes a char in json, 12 in combined)', () => {
    const controls = '\u0001'.repeat(500);
    const wide = '\u20ac'.repeat(500);
    for (const v of [controls, wide, '\ud800'.repeat(300)]) same('127.0.0.1', head({ ua: v, referer: v, target: `/${v}?${v}` }), 200, 1, site('x'), 1, WHEN[0]!);
  });

  it('3,000 random requests of every byte value (seeded) give the same lines', () => {
    let seed = 12;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const char = () => {
      const r = rand();
      if (r < 0.6) return String.fromCharCode(0x20 + Math.floor(rand() * 0x5f));
      if (r < 0.95) return String.fromCharCode(Math.floor(rand() * 256));
      return String.fromCharCode(0x100 + Math.floor(rand() * 0xfeff));
    };
    const text = (max: number) => Array.from({ length: Math.floor(rand() * max) }, char).join('');
    const maybe = (max: number) => (rand() < 0.2 ? undefined : text(max));
    for (let i = 0; i < 3000; i++) {
      const f: Fields = { method: rand() < 0.9 ? 'GET' : text(8) || 'X', target: `/${text(40)}${rand() < 0.5 ? `?${text(30)}` : ''}`, minor: rand() < 0.9 ? 1 : 0, host: maybe(30), ua: maybe(80), referer: maybe(50) };
      same(rand() < 0.1 ? undefined : text(20), rand() < 0.05 ? null : head(f), 100 + Math.floor(rand() * 500), Math.floor(rand() * 1e7), rand() < 0.2 ? undefined : site(text(64)), rand() * 100, WHEN[i % WHEN.length]!);
    }
  });
});
