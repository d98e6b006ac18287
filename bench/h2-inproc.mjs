// In-process cost of our part of one HTTP/2 stream: H2Server's stream handler (header-list check, resolve,
// represent, the header object, listeners, respond/end calls) with node:http2's stream replaced by an
// EventEmitter that takes respond/end at once: what our pipeline adds per stream on top of node:http2's
// own respond + end (~35 µs a stream under h2load here), without it. Compare builds interleaved, pinned.
//
//   node bench/h2-inproc.mjs WEBROOT [--n N] [--dist DIR ...]
//
// WEBROOT: a webroot with /1k.bin. --dist (repeatable): httpd dist directories to compare (default:
// packages/httpd/dist); each is measured in turn, five rounds each, interleaved, best round reported.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const dists = args.flatMap((a, i) => (a === '--dist' ? [path.resolve(args[i + 1])] : []));
if (dists.length === 0) dists.push(path.join(here, '../packages/httpd/dist'));
const webroot = args[0] && !args[0].startsWith('--') ? path.resolve(args[0]) : undefined;
const N = Number(opt('--n', 100000));
if (webroot === undefined || !fs.existsSync(webroot)) {
  console.error('usage: node bench/h2-inproc.mjs WEBROOT [--n N] [--dist DIR ...] (WEBROOT: a webroot file with /1k.bin)');
  process.exit(2);
}
const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'h2-inproc-'));
fs.symlinkSync(webroot, path.join(vhosts, '__default__'));

class FakeStream extends EventEmitter {
  destroyed = false;
  rstCode = 0;
  headersSent = false;
  session = undefined;
  respond(headers) {
    this.headersSent = true;
    this.sent = headers;
  }
  end() {}
}

const builds = [];
for (const dist of dists) {
  const { HttpServer, VhostRegistry, createLogger } = await import(path.join(dist, 'index.js'));
  const { H2Server } = await import(path.join(dist, 'h2/h2-server.js'));
  const log = createLogger('warn');
  const registry = new VhostRegistry(vhosts, log);
  registry.rescan();
  const server = new HttpServer({ sites: registry, io: 'sync', cacheBytes: 32 << 20, plan: { autoindex: false, cacheControl: 'no-cache' }, timeouts: { headerMs: 10000, keepAliveMs: 5000, sendMs: 60000 }, log });
  const h2 = new H2Server(server.contextWith({ scheme: 'https', decorate: undefined }));
  builds.push({ dist, h2, registry });
}

const headersOf = (extra) => ({ ':method': 'GET', ':path': '/1k.bin', ':scheme': 'https', ':authority': '127.0.0.1:8443', 'user-agent': 'h2load nghttp2/1.52.0', ...extra });
const rawOf = (h) => Object.entries(h).flat();
/** One stream through the handler; returns what it responded. */
function stream(build, headers, raw) {
  const s = new FakeStream();
  build.h2.onStream(s, headers, raw);
  s.emit('close');
  return s.sent;
}
const etag = stream(builds[0], headersOf({}), rawOf(headersOf({}))).etag;
const scenarios = { '1k': headersOf({}), 304: headersOf({ 'if-none-match': etag }) };

for (const [name, headers] of Object.entries(scenarios)) {
  const raw = rawOf(headers);
  const best = builds.map(() => Infinity);
  for (let round = 0; round < 5; round++) {
    builds.forEach((b, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) stream(b, headers, raw);
      best[k] = Math.min(best[k], Number(process.hrtime.bigint() - t0) / N);
    });
  }
  const status = stream(builds[0], headers, raw)[':status'];
  builds.forEach((b, k) => console.log(`${name.padEnd(4)} ${best[k].toFixed(0).padStart(6)} ns/stream  ${path.relative(process.cwd(), b.dist) || '.'} (best of 5 rounds of ${N}; ${status})`));
}
for (const b of builds) b.registry.close();
fs.rmSync(vhosts, { recursive: true, force: true });
