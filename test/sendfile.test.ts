import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { parseResponses } from './helpers/raw.js';
import { singleSiteVhosts } from './helpers/site.js';
import { noise, tmpDir } from './helpers/tmp.js';

/**
 * The sendfile(2) path for large bodies on plain HTTP (packages/httpd/native/sendfile.c,
 * src/server/file-send.ts), and its fallback (WEBROOT_SENDFILE=off), in the modes that use it
 * (stream, sync). Each case runs over `on` (every body from 64 KiB), the default `auto` (64 KiB to 1 MiB: the
 * 150 KB body by sendfile, the larger ones pumped) and `off`, so a broken addon path and a broken fallback both fail.
 * Bodies: 150 KB (above sendfile's 64 KiB threshold, and held in the object cache, which the remainder of a
 * partial send is written from), 1.5 MB and 20 MB (over the cache's 1 MiB object limit: the remainder is read
 * by the IO mode). The objects follow a 20 MB + 3 byte one, so none starts at a page boundary of the file:
 * the addon sends the bytes up to the next boundary itself, and sendfile(2) from there.
 */

const FILES = {
  'mid.bin': noise(150 * 1024, 3),
  'large.bin': noise(1536 * 1024 + 5, 4),
  'huge.bin': noise(20 * 1024 * 1024 + 3, 5),
  'small.txt': 'small and after a large one\n',
  // A head over the addon's 16 KiB string limit (nine 1,900-byte fields on /mid.bin): it must go as a Buffer.
  _headers: `/mid.bin\n${Array.from({ length: 9 }, (_, i) => `  X-Long-${i}: ${String(i).repeat(1900)}\n`).join('')}`,
};

let vhosts: string;
beforeAll(async () => {
  ({ vhosts } = await singleSiteVhosts(FILES));
}, 60_000);

/**
 * Sends `request` on one connection and reads until `count` whole responses have arrived (their bodies are
 * at least `bodyBytes` together); `pauses`: stop reading for 20 ms after every MiB; `stopAfter`: disconnect
 * after that many bytes.
 */
function exchange(port: number, request: string, count: number, bodyBytes: number, opts: { pauses?: boolean; stopAfter?: number; noBody?: boolean[] } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let got = 0;
    let nextPause = 1024 * 1024;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out with ${got} bytes (bodies: ${bodyBytes})`));
    }, 20_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(parts));
    };
    const complete = (): boolean => {
      if (got < bodyBytes) return false;
      try {
        return parseResponses(Buffer.concat(parts), opts.noBody).length >= count;
      } catch {
        return false; // a head or body still incomplete
      }
    };
    socket.on('data', (c: Buffer) => {
      parts.push(c);
      got += c.length;
      if (opts.stopAfter !== undefined && got >= opts.stopAfter) return finish();
      if (complete()) return finish();
      if (opts.pauses && got >= nextPause) {
        nextPause += 1024 * 1024;
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    socket.write(request);
  });
}

const get = (p: string, extra = '') => `GET ${p} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

/** `sendfile`: the largest body that goes by sendfile(2) (0: none). */
const PATHS = [
  { name: 'sendfile (WEBROOT_SENDFILE=on)', env: { WEBROOT_SENDFILE: 'on' }, sendfile: Infinity },
  { name: 'sendfile up to 1 MiB (WEBROOT_SENDFILE unset: auto)', env: { WEBROOT_SENDFILE: undefined }, sendfile: 1024 * 1024 },
  { name: 'fallback (WEBROOT_SENDFILE=off)', env: { WEBROOT_SENDFILE: 'off' }, sendfile: 0 },
];

for (const mode of ['stream', 'sync'] as const) {
  for (const variant of PATHS) {
    describe(`${mode} mode, ${variant.name}`, () => {
      let srv: RunningHttpd;
      beforeAll(async () => {
        srv = await startHttpd(vhosts, ['--io', mode, '--workers', '0'], variant.env);
      }, 30_000);
      afterAll(async () => {
        await srv?.stop();
      });

      it('says in its listening line whether it uses sendfile', () => {
        const line = srv.logs.find((l) => l.event === 'listening')!;
        // On Linux the addon is built by `pnpm build`: missing, it is a failure here, not a skip.
        expect(line.sendfile).toBe(variant.sendfile > 0 && process.platform === 'linux');
      });

      it('a response head over 16 KiB (nine long _headers fields) goes out whole before the body, and the worker lives on', async () => {
        const body = FILES['mid.bin'];
        const data = await exchange(srv.port, get('/mid.bin') + get('/small.txt'), 2, body.length + FILES['small.txt'].length);
        const [res, next] = parseResponses(data);
        expect(res!.status).toBe(200);
        for (let i = 0; i < 9; i++) expect(res!.headers[`x-long-${i}`]).toBe(String(i).repeat(1900));
        expect(res!.body.equals(body)).toBe(true);
        expect(next!.body.toString()).toBe(FILES['small.txt']);
      });

      it('sends byte-identical bodies (150 KB, 1.5 MB, 20 MB)', async () => {
        for (const name of ['mid.bin', 'large.bin', 'huge.bin'] as const) {
          const body = FILES[name];
          const data = await exchange(srv.port, get(`/${name}`), 1, body.length);
          const [res] = parseResponses(data);
          expect(res!.status).toBe(200);
          expect(res!.headers['content-length']).toBe(String(body.length));
          expect(res!.body.equals(body)).toBe(true);
        }
      });

      it('finishes a 20 MB body to a reader that keeps stopping (partial sends), then answers the pipelined requests after it in order', async () => {
        const huge = FILES['huge.bin'];
        const small = Buffer.from(FILES['small.txt']);
        const large = FILES['large.bin'];
        const request = get('/huge.bin') + get('/small.txt') + get('/large.bin', 'Range: bytes=1000-1200000\r\n') + get('/large.bin');
        const data = await exchange(srv.port, request, 4, huge.length + small.length + 1_199_001 + large.length, { pauses: true });
        const responses = parseResponses(data);
        expect(responses.map((r) => r.status)).toEqual([200, 200, 206, 200]);
        expect(responses[0]!.body.equals(huge)).toBe(true);
        expect(responses[1]!.body.equals(small)).toBe(true);
        // RFC 9110 section 14.4: Content-Range of a single part.
        expect(responses[2]!.headers['content-range']).toBe(`bytes 1000-1200000/${large.length}`);
        expect(responses[2]!.body.equals(large.subarray(1000, 1_200_001))).toBe(true);
        expect(responses[3]!.body.equals(large)).toBe(true);
      }, 30_000);

      it('answers HEAD with the length and no body (RFC 9110 section 9.3.2), and a GET after it on the same connection', async () => {
        const large = FILES['large.bin'];
        const data = await exchange(srv.port, `HEAD /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n${get('/large.bin')}`, 2, large.length, { noBody: [true, false] });
        const responses = parseResponses(data, [true, false]);
        expect(responses).toHaveLength(2);
        expect(responses[0]!.headers['content-length']).toBe(String(large.length));
        expect(responses[0]!.body.length).toBe(0);
        expect(responses[1]!.body.equals(large)).toBe(true);
      });

      it('sends a range from an offset into a 20 MB file (RFC 9110 section 14.2)', async () => {
        const huge = FILES['huge.bin'];
        const from = 7 * 1024 * 1024 + 11;
        const data = await exchange(srv.port, get('/huge.bin', `Range: bytes=${from}-\r\n`), 1, huge.length - from);
        const [res] = parseResponses(data);
        expect(res!.status).toBe(206);
        expect(res!.body.equals(huge.subarray(from))).toBe(true);
      });

      it('survives a client that disconnects mid-body, and keeps serving from the same webroot', async () => {
        const huge = FILES['huge.bin'];
        for (let i = 0; i < 3; i++) {
          const data = await exchange(srv.port, get('/huge.bin'), 1, huge.length, { stopAfter: 2 * 1024 * 1024 });
          expect(data.length).toBeGreaterThan(0);
        }
        const large = FILES['large.bin'];
        const [res] = parseResponses(await exchange(srv.port, get('/large.bin'), 1, large.length));
        expect(res!.body.equals(large)).toBe(true);
        expect(srv.proc.exitCode).toBeNull();
        expect(srv.logs.filter((l) => l.level === 'error')).toEqual([]);
      });
    });
  }
}

describe('WEBROOT_SENDFILE', () => {
  it('refuses an unknown value at start-up, naming it and the values it takes', () => {
    const r = spawnSync(process.execPath, [HTTPD_BIN, vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '0'], {
      env: { ...process.env, WEBROOT_SENDFILE: 'sometimes' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('WEBROOT_SENDFILE=sometimes: expected auto (the default: 64 KiB to 1 MiB in the stream and sync modes, and in async mode once the page cache holds the body), on (every body from 64 KiB, stream and sync), all (every IO mode) or off');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

/** The syscalls the server makes, seen with strace: the only way to see that the bytes went by sendfile(2). */
const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' }).status === 0;
describe('the system calls (strace)', () => {
  if (!strace) console.log('skipping the strace checks: strace is not installed (apt-get install strace)');
  // async mode, by default: sendfile once cachestat(2) says every page of the body is cached (the files here
  // were just written: they are), else the usual path; 1.5 MB is over the window anyway.
  const traced = [...PATHS.map((v) => ({ ...v, io: 'stream' })), { name: 'async mode, WEBROOT_SENDFILE unset (auto: bodies whose pages are cached)', env: { WEBROOT_SENDFILE: undefined }, sendfile: 1024 * 1024, io: 'async' }];
  for (const variant of traced) {
    const says = variant.sendfile === 0 ? 'no sendfile(2) call' : variant.sendfile === Infinity ? 'sendfile(2) carries the 150 KB and the 1.5 MB body' : 'sendfile(2) carries the 150 KB body, not the 1.5 MB one';
    it.skipIf(!strace || process.platform !== 'linux')(`${variant.name}: ${says}${variant.sendfile > 0 ? '; each call starts at a page boundary of the file' : ''}`, async () => {
      const out = path.join(tmpDir('strace-'), 'trace.txt');
      const proc = spawn('strace', ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=sendfile', '-o', out, process.execPath, HTTPD_BIN, vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '0', '--io', variant.io], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...variant.env },
      });
      let httpdPid: number | undefined;
      try {
        let stderr = '';
        const port = await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`httpd under strace did not listen: ${stderr}`)), 20_000);
          proc.stderr!.on('data', (c: Buffer) => {
            stderr += c.toString();
            const m = /"pid":(\d+),"event":"listening".*?"port":(\d+)/.exec(stderr);
            if (m) {
              clearTimeout(timer);
              httpdPid = Number(m[1]);
              resolve(Number(m[2]));
            }
          });
        });
        for (const name of ['mid.bin', 'large.bin'] as const) {
          const body = FILES[name];
          const [res] = parseResponses(await exchange(port, get(`/${name}`), 1, body.length));
          expect(res!.body.equals(body)).toBe(true);
        }
      } finally {
        // strace exits when its tracee does (a SIGTERM to strace itself would leave httpd running).
        const exited = new Promise((r) => proc.once('exit', r));
        if (httpdPid !== undefined) process.kill(httpdPid, 'SIGTERM');
        else proc.kill('SIGKILL');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      // PID sendfile(OUT, IN, [OFFSET] => [OFFSET AFTER], COUNT) = MOVED; the probe's is one byte, with no offset.
      const calls = fs
        .readFileSync(out, 'utf8')
        .split('\n')
        .map((l) => /sendfile\(\d+, \d+, \[(\d+)\](?: => \[\d+\])?, (\d+)\) = (-?\d+)/.exec(l))
        .filter((m) => m !== null)
        .map((m) => ({ offset: Number(m[1]), count: Number(m[2]), moved: Number(m[3]) }));
      const mid = FILES['mid.bin'].length;
      // A call's count is what is left of the body: at most 150 KB for the 150 KB one, over 1 MiB for the 1.5 MB one.
      const forMid = calls.filter((c) => c.count <= mid && c.moved > 0);
      const forLarge = calls.filter((c) => c.count > 1024 * 1024 && c.moved > 0);
      expect(forMid.length > 0).toBe(variant.sendfile > 0);
      expect(forLarge.length > 0).toBe(variant.sendfile === Infinity);
      // The objects do not start at page boundaries (see FILES): the addon sends up to the next one itself.
      for (const c of calls) if (c.count > 4096) expect(c.offset % 4096).toBe(0);
    }, 40_000);
  }
});
