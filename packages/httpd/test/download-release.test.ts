import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadRelease } from '../src/follow/download-release.js';

// downloadRelease against a real socket: each case is a server behaviour (RFC 9110 sections 14.2, 13.1.5, 14.4).
const FILE = crypto.randomBytes(200_000);
const ETAG = '"v1"';
type Mode = 'normal' | 'stall' | 'short' | 'bad-range';
let mode: Mode = 'normal';
const seen: { range?: string; ifRange?: string }[] = [];
let server: http.Server;
let url = '';
let dir = '';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'download-release-'));
  server = http.createServer((req, res) => {
    seen.push({ range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const resume = m && req.headers['if-range'] === ETAG;
    const start = resume ? Number(m[1]) : 0;
    const body = mode === 'short' ? FILE.subarray(0, 1000) : FILE.subarray(start);
    res.setHeader('ETag', ETAG);
    if (resume) res.writeHead(206, { 'content-range': `bytes ${mode === 'bad-range' ? 0 : start}-${FILE.length - 1}/${FILE.length}`, 'content-length': body.length });
    else res.writeHead(200, { 'content-length': body.length });
    if (mode === 'stall') res.write(body.subarray(0, 50_000)); // then nothing, until the client gives up
    else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fresh = (name: string) => path.join(dir, name);

describe('downloadRelease', () => {
  it('a stalled response is abandoned, keeps its bytes, and the next call resumes with Range + If-Range (RFC 9110 14.2, 13.1.5)', async () => {
    const p = fresh('stall');
    mode = 'stall';
    const first = await downloadRelease(url, p, FILE.length, 300);
    expect(first).toMatchObject({ kind: 'interrupted', detail: 'nothing received for 300 ms', have: 50_000 });
    mode = 'normal';
    seen.length = 0;
    const second = await downloadRelease(url, p, FILE.length, 5000);
    expect(second).toEqual({ kind: 'complete', resumedFrom: 50_000, bytes: FILE.length - 50_000 });
    expect(seen).toEqual([{ range: 'bytes=50000-', ifRange: ETAG }]);
    expect(fs.readFileSync(p).equals(FILE)).toBe(true);
  });

  it('a changed file (If-Range does not match, RFC 9110 13.1.5): the 200 starts over', async () => {
    const p = fresh('changed');
    fs.writeFileSync(p, Buffer.alloc(1234, 7));
    fs.writeFileSync(`${p}.json`, JSON.stringify({ validator: '"old"' }));
    const r = await downloadRelease(url, p, FILE.length, 5000);
    expect(r).toEqual({ kind: 'complete', resumedFrom: 0, bytes: FILE.length });
    expect(fs.readFileSync(p).equals(FILE)).toBe(true);
  });

  it('a 206 that does not start where our bytes end (RFC 9110 14.4) is not appended: start over', async () => {
    const p = fresh('badrange');
    fs.writeFileSync(p, FILE.subarray(0, 10_000));
    fs.writeFileSync(`${p}.json`, JSON.stringify({ validator: ETAG }));
    mode = 'bad-range';
    const r = await downloadRelease(url, p, FILE.length, 5000);
    mode = 'normal';
    expect(r).toMatchObject({ kind: 'interrupted', have: 0 });
    expect(fs.statSync(p).size).toBe(0);
    expect(await downloadRelease(url, p, FILE.length, 5000)).toMatchObject({ kind: 'complete', resumedFrom: 0 });
  });

  it('more bytes than the manifest says: size-mismatch, nothing kept', async () => {
    const p = fresh('big');
    expect(await downloadRelease(url, p, FILE.length - 1, 5000)).toMatchObject({ kind: 'size-mismatch' });
    expect(fs.statSync(p).size).toBe(0);
  });

  it('a complete response with fewer bytes (a truncated file in the channel): size-mismatch', async () => {
    const p = fresh('short');
    mode = 'short';
    const r = await downloadRelease(url, p, FILE.length, 5000);
    mode = 'normal';
    expect(r).toMatchObject({ kind: 'size-mismatch', detail: `the channel's file ends after 1000 of the manifest's ${FILE.length} bytes` });
  });

  it('an unreachable server is an interruption, not a refusal', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await downloadRelease(`http://127.0.0.1:${port}/none`, fresh('none'), 10, 2000);
    expect(r).toMatchObject({ kind: 'interrupted', detail: 'ECONNREFUSED' });
  });
});
