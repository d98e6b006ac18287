#!/usr/bin/env node
// Memory bound of HTTP/2 downloads (issue 10): one session opens 100 streams of a 20 MB file and
// reads each slowly (a chunk, then 200 ms of pause); the worker's RSS is sampled for 10 s.
// Usage: node bench/h2-slow-readers.mjs [sync|stream|async]   (after pnpm build; needs openssl)
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packDirectory } from '@webroot/mkroot';
import { freePort } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const io = process.argv[2] ?? 'sync';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-h2-slow-'));
fs.mkdirSync(path.join(work, 'site'));
fs.writeFileSync(path.join(work, 'site', '20m.bin'), crypto.randomBytes(20_000_000));
await packDirectory(path.join(work, 'site'), path.join(work, 'site.webroot'), { compress: false });
fs.mkdirSync(path.join(work, 'vhosts'));
fs.symlinkSync(path.join(work, 'site.webroot'), path.join(work, 'vhosts', '__default__'));
fs.mkdirSync(path.join(work, 'certs'));
spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(work, 'certs/__default__.key'), '-out', path.join(work, 'certs/__default__.crt'), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
const port = await freePort();
const srv = spawn(process.execPath, [path.join(root, 'packages/httpd/bin/httpd.js'), path.join(work, 'vhosts'), '--io', io, '--workers', '0', '--port', '0', '--host', '127.0.0.1', '--tls-port', String(port), '--certs', path.join(work, 'certs')], { stdio: ['ignore', 'ignore', 'pipe'] });
const pid = await new Promise((resolve) => srv.stderr.on('data', (d) => String(d).includes('"listening"') && resolve(srv.pid)));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const s = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
s.on('error', () => {});
await new Promise((r) => s.once('connect', r));
const before = rss();
let got = 0;
const streams = [];
for (let i = 0; i < 100; i++) {
  const q = s.request({ ':path': '/20m.bin' });
  q.on('error', () => {});
  q.on('data', (c) => {
    got += c.length;
    q.pause();
    setTimeout(() => q.resume(), 200);
  });
  streams.push(q);
}
let peak = 0;
for (let t = 0; t < 40; t++) {
  await new Promise((r) => setTimeout(r, 250));
  peak = Math.max(peak, rss());
}
for (const q of streams) q.close(http2.constants.NGHTTP2_CANCEL);
s.close();
console.log(`--io ${io}: worker RSS ${before.toFixed(0)} MiB before, peak ${peak.toFixed(0)} MiB over 10 s of 100 slow streams of a 20 MB file on one session (the client read ${(got / 2 ** 20).toFixed(0)} MiB)`);
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));
fs.rmSync(work, { recursive: true, force: true });
