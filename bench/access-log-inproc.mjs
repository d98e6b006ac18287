// CPU per access-log line, in process: what the json and combined formats cost to build
// (into a buffer, no file) and to write through AccessLogs and LogFile to a real file
// (user and system time of every thread: the writes run on the thread pool).
//
//   node bench/access-log-inproc.mjs [--n N] [--dir DIR]
//
// DIR (default: the system's temporary directory) is where the files go. To measure
// another build, run the copy of this script in that checkout.
//
// The request is what wrk sends (GET /1k.bin, a Host, nothing else), from a keep-alive
// connection at 127.0.0.1: the same request each time ("repeated": the server copies the
// line before, server/line-memo.ts) or one of 64 paths in turn ("varied": every line is
// built). Run it pinned (taskset -c 0) and compare builds interleaved: the numbers move
// with the machine's load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const N = Number(opt('--n', 500000));
const dist = path.dirname(fileURLToPath(import.meta.resolve('@webroot/httpd')));
const { parseRequestHead } = await import(path.join(dist, 'http/parse-request.js'));
const { AccessLogs } = await import(path.join(dist, 'server/access-log.js'));
// Builds before lines went into buffers have no log-formats.js: then only the file part runs.
const formats = fs.existsSync(path.join(dist, 'server/log-formats.js')) ? await import(path.join(dist, 'server/log-formats.js')) : undefined;

const raw = Buffer.from('GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1:20612\r\n\r\n', 'latin1');
const heads = Array.from({ length: 64 }, () => parseRequestHead(raw, 0).head); // a head per request, as parsed
const varied = Array.from({ length: 64 }, (_, i) => parseRequestHead(Buffer.from(`GET /f${i}.bin HTTP/1.1\r\nHost: 127.0.0.1:20612\r\n\r\n`, 'latin1'), 0).head);
const site = { webroot: { meta: { dataSha256: 'ab'.repeat(32) } } };
const peer = { remoteAddress: '127.0.0.1' };
const cpu = (c) => (c.user + c.system) * 1000;

function build(format) {
  if (formats === undefined) return NaN;
  const { putJson, putCombined } = formats;
  const b = Buffer.allocUnsafeSlow(1 << 20);
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const c0 = process.cpuUsage();
    let p = 0;
    for (let i = 0; i < N; i++) {
      p = format === 'json' ? putJson(b, p, peer.remoteAddress, heads[i & 63], 200, 1024, site, 0.0123, undefined) : putCombined(b, p, peer.remoteAddress, heads[i & 63], 200, 1024, undefined);
      if (p > (1 << 20) - 4096) p = 0;
    }
    best = Math.min(best, cpu(process.cpuUsage(c0)) / N);
  }
  return best;
}

async function write(format, dir, heads) {
  const file = path.join(dir, `${format}.log`);
  const logs = new AccessLogs({ path: file, format, hosts: [] }, (p, e) => console.error(p, e));
  const c0 = process.cpuUsage();
  let i = 0;
  await new Promise((resolve) => {
    const turn = () => {
      // 50 responses a turn of the event loop, as a busy worker has.
      // The server passes the read's clock (one Date.now() a read, which it takes anyway); builds before it ignore the argument and read the clock per line.
      const now = Date.now();
      for (let k = 0; k < 50 && i < N; k++, i++) logs.write(peer, heads[i & 63], 200, 1024, site, 0.0123, now);
      if (i < N) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  await logs.close();
  const c = process.cpuUsage(c0);
  const size = fs.statSync(file).size;
  fs.rmSync(file);
  return { user: (c.user * 1000) / N, system: (c.system * 1000) / N, bytes: size / N };
}

const dir = fs.mkdtempSync(path.join(opt('--dir', os.tmpdir()), 'access-log-inproc-'));
try {
  for (const format of ['json', 'combined']) {
    const b = build(format);
    const w = await write(format, dir, heads);
    const v = await write(format, dir, varied);
    console.log(`${format.padEnd(8)} build ${b.toFixed(0).padStart(5)} ns/line | to a file, repeated: user ${w.user.toFixed(0).padStart(5)} ns, system ${w.system.toFixed(0).padStart(5)} ns | varied: user ${v.user.toFixed(0).padStart(5)} ns, system ${v.system.toFixed(0).padStart(5)} ns (${N} lines of ~${w.bytes.toFixed(0)} bytes)`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
