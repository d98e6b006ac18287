// In-process cost of one HTTP/1.1 request through the whole Connection (parse, resolve,
// represent, serialize, cache, metrics hook), with the socket replaced by a wire that
// takes every write at once: what JavaScript costs per request, without the kernel.
//
//   node bench/inproc.mjs [WEBROOT] [--n N] [--io sync|stream|async] [--only 1k|304|many|close|fields] [--dist DIR] [--log json|combined [--log-path FILE]]
//
// --dist runs another build of packages/httpd (its dist directory), for an interleaved A/B of two builds.
// --log writes the access log in that format through the worker's AccessLogs (to /dev/null unless
// --log-path), so the request's cost with and without a log, and of two builds' logs, compare in one harness;
// with --log (`--log none`: the same harness without a log) each round yields to the event loop every 256
// requests, as a server does, so the log's writes on the thread pool complete instead of queueing.
//
// WEBROOT defaults to the bench corpus (bench/.corpus/http.webroot; `pnpm bench` makes it).
// Prints CPU ns per request for a keep-alive GET of 1 KB, the 304 of it, the 10,000-file
// rotation, a Connection: close GET, and the GET with a Referer that changes every request (fields). Run it pinned (taskset -c 0) and compare builds
// interleaved: the numbers move with the machine's load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const webroot = args[0] && !args[0].startsWith('--') ? path.resolve(args[0]) : path.join(here, '.corpus/http.webroot');
const N = Number(opt('--n', 200000));
const io = opt('--io', 'sync');
if (!fs.existsSync(webroot)) {
  console.error(`${webroot} does not exist: run pnpm bench once (it packs the corpus), or give a webroot file`);
  process.exit(2);
}
const dist = opt('--dist', undefined) !== undefined ? path.resolve(opt('--dist')) : path.dirname(fileURLToPath(import.meta.resolve('@webroot/httpd')));
const { HttpServer, VhostRegistry, createLogger } = await import(path.join(dist, 'index.js'));
const { Connection } = await import(path.join(dist, 'server/connection.js'));

const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'inproc-'));
fs.symlinkSync(webroot, path.join(vhosts, '__default__'));
const log = createLogger('warn');
const registry = new VhostRegistry(vhosts, log);
registry.rescan();
const server = new HttpServer({ sites: registry, io, cacheBytes: 32 << 20, plan: { autoindex: false, cacheControl: 'no-cache' }, timeouts: { headerMs: 10000, keepAliveMs: 5000, sendMs: 60000 }, log });
const ctx = server.contextWith({ scheme: 'http', decorate: undefined });
ctx.accessLog = () => {}; // the worker's metrics hook sits here; its cost is measured apart
const logFormat = opt('--log', undefined);
let logs;
const turns = logFormat !== undefined;
if (logFormat !== undefined && logFormat !== 'none') {
  const { AccessLogs } = await import(path.join(dist, 'server/access-log.js'));
  logs = new AccessLogs({ path: opt('--log-path', '/dev/null'), format: logFormat, hosts: [] }, (file, err) => console.error(file, err));
  ctx.accessLog = (socket, head, status, bytes, site, durationMs, nowMs) => logs.write(socket, head, status, bytes, site, durationMs, nowMs);
}

let last = '';
const wire = (events) => ({
  destroyed: false,
  remoteAddress: '127.0.0.1',
  bytesWritten: 0,
  write(data) {
    last = data;
    return true;
  },
  end() {},
  destroy() {},
  pause() {},
  resume() {},
  isPaused: () => false,
  setTimeout() {},
  kernelBytes: () => 0,
  stream() {
    throw new Error('no streams in this harness');
  },
  events,
});

const paths = fs.existsSync(path.join(here, '.corpus/http/many.paths')) ? fs.readFileSync(path.join(here, '.corpus/http/many.paths'), 'utf8').trim().split('\n') : ['/1k.bin'];
const HOST = opt('--host', 'bench');
const req = (p, extra = '') => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\nUser-Agent: inproc\r\nAccept: */*\r\n${extra}\r\n`, 'latin1');
/** The status line and fields of the response to `buf` (one request on a fresh connection). */
function answer(buf) {
  const c = new Connection(wire, ctx);
  c.onData(buf);
  c.onClose();
  const text = typeof last === 'string' ? last : last.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}
const etag = /\r\nETag: (\S+)/i.exec(answer(req('/1k.bin')))?.[1];
const scenarios = {
  '1k': () => req('/1k.bin'),
  '304': () => req('/1k.bin', `If-None-Match: ${etag ?? '"x"'}\r\n`),
  many: (i) => req(paths[i % paths.length]),
  close: () => req('/1k.bin', 'Connection: close\r\n'),
  // Fields that differ from one request to the next: what the field-section memo costs when it never hits.
  fields: (i) => req('/1k.bin', `Referer: http://bench/page/${i}\r\n`),
};

const only = opt('--only', '');
if (only && !(only in scenarios)) {
  console.error(`--only ${only}: no such scenario; pick one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
for (const [name, make] of Object.entries(scenarios)) {
  if (only && name !== only) continue;
  const reqs = Array.from({ length: Math.min(N, 10000) }, (_, i) => make(i));
  const status = answer(reqs[0]).split('\r\n')[0];
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const conn = new Connection(wire, ctx);
    // CPU time, not wall time: on a shared machine the process is descheduled, and that is not its cost.
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      if (turns && (i & 255) === 255) await new Promise((r) => setImmediate(r));
      if (name === 'close') {
        const c = new Connection(wire, ctx);
        c.onData(reqs[i % reqs.length]);
        c.onClose();
      } else conn.onData(reqs[i % reqs.length]);
    }
    const used = process.cpuUsage(t0);
    const ns = ((used.user + used.system) * 1000) / N;
    conn.onClose();
    best = Math.min(best, ns);
    // The log's full buffers are written on the thread pool: let those writes finish between rounds.
    if (logs !== undefined) await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`${name.padEnd(6)} ${best.toFixed(0).padStart(6)} ns of CPU/request (best of 5 rounds of ${N}; ${status})`);
}
await logs?.close();
registry.close();
fs.rmSync(vhosts, { recursive: true, force: true });
