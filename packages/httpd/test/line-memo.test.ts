import { describe, expect, it } from 'vitest';
import { parseRequestHead, RequestHeaders, type RequestHead } from '../src/http/parse-request.js';
import { LineMemo, type LineSink } from '../src/server/line-memo.js';
import type { Site } from '../src/vhosts/site.js';
import { combinedLineV1, jsonLineV1 } from './helpers/log-lines-v1.js';

/** A request head as the server parses it (so it carries its text, `raw`). */
function parsed(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'), 0);
  if (r.kind !== 'head') throw new Error(`not a head: ${text}`);
  return r.head;
}

/** A head as HTTP/2 makes it for the log (h2-server.ts accessHeadOf): fields only, no text. */
function h2(host: string, target: string, ua?: string): RequestHead {
  const h = new RequestHeaders();
  h.host = host;
  h['user-agent'] = ua;
  return { method: 'GET', target, minor: 1, headers: h, hostCount: 1, contentLength: 0, chunked: false, keepAlive: true, protocol: 'HTTP/2.0' };
}

const site = (digest: string) => ({ webroot: { meta: { dataSha256: digest } } }) as unknown as Site;
const A = site('ab'.repeat(32));
const B = site('cd'.repeat(32));

/** A log buffer that checks every line fits the room asked for it. */
class Sink implements LineSink {
  buf = Buffer.alloc(1 << 16);
  pos = 0;
  private asked = 0;
  lines: string[] = [];
  room(bytes: number): Buffer {
    this.asked = bytes;
    return this.buf;
  }
  commit(end: number): void {
    expect(end - this.pos).toBeLessThanOrEqual(this.asked);
    this.lines.push(this.buf.toString('utf8', this.pos, end));
    this.pos = 0;
  }
}

interface Values {
  head: string | RequestHead;
  remote: string | undefined;
  status: number;
  bytes: number;
  site: Site | undefined;
  /** Milliseconds after T0 of the run's first request; each next one is a millisecond later. */
  at: number;
}

interface Step {
  name: string;
  /** What differs from the step before (and only that). */
  change: Partial<Values>;
  durations?: number[];
  /** Lines copied from the memo in this run; default: all but the first two (a new key, then the line kept). */
  copies?: number;
}

const T0 = Date.UTC(2026, 11, 1, 14, 9, 5, 7);
const GET = 'GET /1k.bin HTTP/1.1\nHost: 127.0.0.1:20612\nUser-Agent: wrk\n\n';
const LONG_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const FIRST: Values = { head: GET, remote: '127.0.0.1', status: 200, bytes: 1024, site: A, at: 0 };

/*
 * Each step is a run of identical responses (one per duration) that differs from the run before in one value:
 * its first line is a new key, the second is kept, the rest are copies. Every line must be what the string
 * formats wrote for its values (helpers/log-lines-v1.ts): a memo that went stale (a swapped site, another
 * client, a new second, a 304 after a 200 to the same head, a HEAD) would write the run before's line and fail.
 */
const steps: Step[] = [
  { name: 'a request repeated: the ms digits and the duration are the line\'s own', change: {}, durations: [0.0123, 1.5, 0, 0.0004, 123456.789, 1e13, -5.25, 2147483.648] },
  { name: 'later in the same second: the run goes on', change: { at: 900 }, copies: 3 },
  { name: 'the next second', change: { at: 993 } },
  { name: 'another client (remote address)', change: { remote: '10.0.0.2' } },
  { name: 'an IPv6 client', change: { remote: '::ffff:127.0.0.1' } },
  { name: 'no remote address', change: { remote: undefined } },
  { name: 'the first client again', change: { remote: '127.0.0.1' } },
  { name: 'a new site version (another digest), same head', change: { site: B } },
  { name: 'another status, same bytes', change: { status: 404 } },
  { name: 'another byte count, same status', change: { bytes: 0 } },
  { name: 'a 304 to the same head', change: { status: 304 } },
  { name: 'a 200 to the same head again', change: { status: 200, bytes: 1024 } },
  { name: 'the first site version again', change: { site: A } },
  { name: 'no site (a 404 answered by none)', change: { site: undefined } },
  { name: 'a site again', change: { site: A } },
  { name: 'another path of the same length', change: { head: 'GET /2k.bin HTTP/1.1\nHost: 127.0.0.1:20612\nUser-Agent: wrk\n\n' } },
  { name: 'a HEAD', change: { head: 'HEAD /2k.bin HTTP/1.1\nHost: 127.0.0.1:20612\nUser-Agent: wrk\n\n' } },
  { name: 'a field the log does not read differs (Cookie)', change: { head: 'HEAD /2k.bin HTTP/1.1\nHost: 127.0.0.1:20612\nUser-Agent: wrk\nCookie: a=1\n\n' } },
  { name: 'another Host', change: { head: 'HEAD /2k.bin HTTP/1.1\nHost: Example.COM.\nUser-Agent: wrk\nCookie: a=1\n\n' } },
  { name: 'a query', change: { head: 'GET /a%20b?x=1&y="2" HTTP/1.1\nHost: 127.0.0.1\n\n' } },
  { name: 'HTTP/1.0', change: { head: 'GET /a%20b?x=1&y="2" HTTP/1.0\nHost: 127.0.0.1\n\n' } },
  { name: 'escaped bytes (quotes, controls, latin1)', change: { head: `GET /x HTTP/1.1\nHost: h\nUser-Agent: say "hi"\\ \t\u00e9\u00ff\nReferer: http://r.example/?q="1"\n\n` } },
  { name: 'a long User-Agent and Referer', change: { head: `GET / HTTP/1.1\nHost: h\nUser-Agent: ${LONG_UA}\nReferer: http://r.example/${'x'.repeat(60)}\n\n` } },
  { name: 'HTTP/2 (no head text: by fields)', change: { head: h2('127.0.0.1:8443', '/1k.bin', 'h2load') } },
  { name: 'HTTP/2, another target', change: { head: h2('127.0.0.1:8443', '/2k.bin', 'h2load') } },
  { name: 'HTTP/2, another User-Agent', change: { head: h2('127.0.0.1:8443', '/2k.bin', 'curl') } },
  { name: 'HTTP/2, another Host', change: { head: h2('localhost:8443', '/2k.bin', 'curl') } },
  { name: 'HTTP/1.1 with the fields of that HTTP/2 head', change: { head: 'GET /2k.bin HTTP/1.1\nHost: localhost:8443\nUser-Agent: curl\n\n' } },
  { name: 'a line too long to keep (written, never copied)', change: { head: `GET / HTTP/1.1\nHost: h\nUser-Agent: ${'"x'.repeat(1100)}\n\n` }, copies: 0 },
  { name: 'a short line again', change: { head: GET } },
  { name: 'year 20000 (a longer time field)', change: { at: Date.UTC(20000, 0, 1, 0, 0, 0, 123) - T0 } },
  { name: 'before 1970', change: { at: -T0 - 500 } },
  { name: 'the epoch itself (0 is a time here, not "read the clock")', change: { at: -T0 } },
];

describe('LineMemo: a copy of the last line for the next identical response, byte for byte the formats\' line (RFC 8259 §7 via ECMA-262 QuoteJSONString; nginx escape=default)', () => {
  it.each(['json', 'combined'] as const)('%s: every step of a run of requests, through a new key, a kept line and its copies', (format) => {
    const memo = new LineMemo(format);
    const sink = new Sink();
    let expectedHits = 0;
    let v = FIRST;
    for (const s of steps) {
      v = { ...v, ...s.change };
      const durations = s.durations ?? [0.25, 3.5, 0.001];
      const { remote, status, bytes, site: st } = v;
      const hitsBefore = memo.hits;
      for (let i = 0; i < durations.length; i++) {
        // A head parsed afresh for each request, as the server does: equal text, other strings.
        const head = typeof v.head === 'string' ? parsed(v.head) : v.head;
        const ms = T0 + v.at + i; // a millisecond further each request
        memo.write(sink, remote, head, status, bytes, st, durations[i]!, ms);
        const r = { remote, head, status, bytes, site: st, durationMs: durations[i]! };
        const want = format === 'json' ? jsonLineV1(r, new Date(ms)) : combinedLineV1(remote, head, status, bytes, new Date(ms));
        expect(sink.lines.at(-1), `${s.name}, request ${i + 1}`).toBe(want);
      }
      // The memo was used (and not only built): a run of n copies all but its first two.
      const copies = s.copies ?? durations.length - 2;
      expect(memo.hits - hitsBefore, s.name).toBe(copies);
      expectedHits += copies;
    }
    expect(memo.hits).toBe(expectedHits);
  });

  it.each(['json', 'combined'] as const)('%s: two requests taking turns are each built by the format, never copied from the other', (format) => {
    const memo = new LineMemo(format);
    const sink = new Sink();
    const heads = [GET, 'GET /other HTTP/1.1\nHost: 127.0.0.1:20612\nUser-Agent: wrk\n\n'];
    for (let i = 0; i < 20; i++) {
      const head = parsed(heads[i % 2]!);
      memo.write(sink, '127.0.0.1', head, 200, 1024, A, 0.5, T0 + i);
      const r = { remote: '127.0.0.1', head, status: 200, bytes: 1024, site: A, durationMs: 0.5 };
      expect(sink.lines.at(-1)).toBe(format === 'json' ? jsonLineV1(r, new Date(T0 + i)) : combinedLineV1('127.0.0.1', head, 200, 1024, new Date(T0 + i)));
    }
    expect(memo.hits).toBe(0);
  });
});
