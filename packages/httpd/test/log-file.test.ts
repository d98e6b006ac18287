import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseRequestHead, RequestHeaders, type RequestHead } from '../src/http/parse-request.js';
import { AccessLogs, type AccessLogFormat } from '../src/server/access-log.js';
import { BUFFER_BYTES, LogFile } from '../src/server/log-file.js';
import type { Site } from '../src/vhosts/site.js';
import { combinedLineV1, jsonLineV1 } from './helpers/log-lines-v1.js';

const NOW = new Date(Date.UTC(2026, 11, 1, 14, 9, 5, 7));
const site = { webroot: { meta: { dataSha256: 'ab'.repeat(32) } } } as unknown as Site;
const peer = { remoteAddress: '127.0.0.1' };

function head(i: number, ua = 'bench "agent"'): RequestHead {
  const h = new RequestHeaders();
  h.host = i % 3 === 0 ? 'Example.com:8080' : '127.0.0.1';
  h['user-agent'] = ua;
  return { method: 'GET', target: `/f${i}.bin?n=${i}`, minor: 1, headers: h, hostCount: 1, contentLength: 0, chunked: false, keepAlive: true };
}

/** The bytes the string formats wrote for the same response (helpers/log-lines-v1.ts). */
function expected(format: AccessLogFormat, h: RequestHead, i: number): string {
  return format === 'json' ? jsonLineV1({ remote: peer.remoteAddress, head: h, status: 200, bytes: i, site, durationMs: i / 7 }, NOW) : combinedLineV1(peer.remoteAddress, h, 200, i, NOW);
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-file-'));
  // Date only: the file's flush timer and the thread pool run for real.
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('AccessLogs into LogFile buffers: what reaches the file', () => {
  it.each(['json', 'combined'] as const)('%s: 20,000 lines (many 64 KiB buffers, one line larger than a buffer) are the string format byte for byte, in order', async (format) => {
    const file = path.join(dir, 'access.log');
    const errors: unknown[] = [];
    const logs = new AccessLogs({ path: file, format, hosts: [] }, (_p, err) => errors.push(err));
    let want = '';
    for (let i = 0; i < 20_000; i++) {
      // A User-Agent whose escaped form is larger than a whole buffer, in the middle.
      const h = i === 7_777 ? head(i, '"\u0001'.repeat(BUFFER_BYTES)) : head(i);
      logs.write(peer, h, 200, i, site, i / 7);
      want += expected(format, h, i);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // turns of the event loop, as a server has
    }
    await logs.close();
    expect(errors).toEqual([]);
    const got = fs.readFileSync(file);
    expect(got.length).toBe(Buffer.byteLength(want));
    expect(got.equals(Buffer.from(want, 'utf8'))).toBe(true);
  });

  it('per-host files: a host and its alias go to their file, the rest to the main log', async () => {
    const main = path.join(dir, 'access.log');
    const example = path.join(dir, 'example.log');
    const logs = new AccessLogs({ path: main, format: 'json', hosts: [{ names: ['example.com'], path: example }] }, () => {});
    for (let i = 0; i < 30; i++) logs.write(peer, head(i), 200, i, site, 1);
    await logs.close();
    const hosts = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { host: string }).host);
    expect(hosts(example)).toEqual(Array(10).fill('example.com'));
    expect(hosts(main)).toEqual(Array(20).fill('127.0.0.1'));
  });

  it.each(['json', 'combined'] as const)('%s: per-host files with runs of identical requests (copied from the line memo): each file has its own host\'s lines, byte for byte', async (format) => {
    const main = path.join(dir, 'access.log');
    const example = path.join(dir, 'example.log');
    const logs = new AccessLogs({ path: main, format, hosts: [{ names: ['example.com'], path: example }] }, () => {});
    const want = { [main]: '', [example]: '' };
    for (let run = 0; run < 8; run++) {
      const host = run % 2 === 0 ? 'example.com' : '127.0.0.1';
      for (let i = 0; i < 25; i++) {
        // Parsed afresh each time, as the server does: the same text, other strings.
        const r = parseRequestHead(Buffer.from(`GET /page HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: poller\r\n\r\n`, 'latin1'), 0);
        if (r.kind !== 'head') throw new Error('not a head');
        logs.write(peer, r.head, 200, 512, site, 0.25);
        want[run % 2 === 0 ? example : main] += format === 'json' ? jsonLineV1({ remote: peer.remoteAddress, head: r.head, status: 200, bytes: 512, site, durationMs: 0.25 }, NOW) : combinedLineV1(peer.remoteAddress, r.head, 200, 512, NOW);
      }
    }
    await logs.close();
    expect(fs.readFileSync(example, 'utf8')).toBe(want[example]);
    expect(fs.readFileSync(main, 'utf8')).toBe(want[main]);
  });

  it('reopen (SIGUSR1): lines before go to the renamed file, lines after to a new one at the path, none lost', async () => {
    const file = path.join(dir, 'access.log');
    const logs = new AccessLogs({ path: file, format: 'combined', hosts: [] }, () => {});
    // The file is opened on the thread pool; logrotate renames a file that exists.
    const until = performance.now() + 5_000;
    while (performance.now() < until && !fs.existsSync(file)) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 300; i++) logs.write(peer, head(i), 200, i, site, 1);
    fs.renameSync(file, `${file}.1`);
    for (let i = 300; i < 400; i++) logs.write(peer, head(i), 200, i, site, 1); // still the renamed file's, until the signal
    logs.reopen();
    for (let i = 400; i < 700; i++) logs.write(peer, head(i), 200, i, site, 1);
    await logs.close();
    const numbers = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => Number(/\?n=(\d+)/.exec(l)![1]));
    expect(numbers(`${file}.1`)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(numbers(file)).toEqual(Array.from({ length: 300 }, (_, i) => 400 + i));
  });

  it('a line is on disk within the flush interval (100 ms) without a full buffer or a close', async () => {
    const file = path.join(dir, 'access.log');
    const logs = new AccessLogs({ path: file, format: 'json', hosts: [] }, () => {});
    logs.write(peer, head(1), 200, 1, site, 1 / 7);
    const until = performance.now() + 5_000;
    while (performance.now() < until && !(fs.existsSync(file) && fs.statSync(file).size > 0)) await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(file, 'utf8')).toBe(expected('json', head(1), 1));
    await logs.close();
  });

  it("'-' writes to standard output (a child process, so the lines are the real stdout's)", () => {
    const dist = path.resolve(__dirname, '../dist/server/access-log.js');
    const script = `const { AccessLogs } = await import(${JSON.stringify(dist)});
      const logs = new AccessLogs({ path: '-', format: 'combined', hosts: [] }, () => {});
      for (let i = 0; i < 2000; i++) logs.write({ remoteAddress: '10.0.0.' + (i % 3) }, null, 400, i, undefined, 0);
      await logs.close();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2000);
    expect(lines[1]).toMatch(/^10\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "-" 400 1 "-" "-"$/);
    expect(lines.map((l) => l.split(' ')[7]).map((b) => (b === '-' ? 0 : Number(b)))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it.skipIf(!fs.existsSync('/dev/full'))('a disk that refuses the writes (/dev/full: ENOSPC) is reported once for the run of failures, and close resolves', async () => {
    const errors: unknown[] = [];
    const logs = new AccessLogs({ path: '/dev/full', format: 'json', hosts: [] }, (_p, err) => errors.push(err));
    for (let i = 0; i < 2000; i++) {
      logs.write(peer, head(i), 200, i, site, 1); // ~9 buffers, each write refused
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    await logs.close();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });

  it('a file that cannot be opened is reported once; writing on neither throws nor blocks, and close resolves', async () => {
    const errors: unknown[] = [];
    const file = new LogFile(path.join(dir, 'missing-dir', 'access.log'), (_p, err) => errors.push(err));
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 1000; k++) {
        const b = file.room(100);
        file.commit(file.pos + b.write(`${'x'.repeat(99)}\n`, file.pos));
      }
      await new Promise((r) => setTimeout(r, 150)); // the flush timer runs
    }
    await file.close();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
