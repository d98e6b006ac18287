#!/usr/bin/env node
// HTTPS and HTTP/2 benchmark (issue 10): our httpd's TLS port against nginx (`listen ... ssl http2`)
// with the same certificate (EC P-256) in the same run, and a bare node:http2 server answering
// from memory. Single-core: every server pinned to CPU 0 with one worker, the load on CPU 1.
// Tools: wrk (HTTPS/1.1), h2load (nghttp2-client), nginx, taskset, openssl. Every h2load run is
// bounded by -n and a timeout (its duration mode never ends when the server closes connections).
// Usage: node bench/tls.mjs [--reps N] [--seconds S] [--quick] [--servers a,b] [--scenarios x,y] [--skip-memory]
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packDirectory } from '@webroot/mkroot';
import { freePort, has, median, runWrk, startServer, treeCpuSeconds } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(`Usage: node bench/tls.mjs [--reps N] [--seconds S] [--quick] [--servers LIST] [--scenarios LIST] [--skip-memory]
  --reps N          interleaved repetitions (default 3; --quick: 1)
  --seconds S       seconds per measurement (default 2; --quick: 1)
  --servers LIST    comma-separated, of: webroot, webroot-portable, nginx, node:http2, raw-tls (default: all)
  --scenarios LIST  comma-separated ids, spaces as dashes, of: h1-1k, h1-new-conn, h1-10m, h2-1k, h2-304, h2-100k, h2-10m (default: all)
  --skip-memory     skip the RSS measurements (1,000 idle sessions, peak under h2 load)
Needs wrk, h2load (nghttp2-client), nginx, taskset, openssl. Results go to bench/results/tls-<time>.md.`);
  process.exit(0);
}
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const quick = argv.includes('--quick');
const REPS = Number(opt('--reps', quick ? 1 : 3));
const SECONDS = Number(opt('--seconds', quick ? 1 : 2));
const onlyServers = opt('--servers', undefined)?.split(',');
const onlyScenarios = opt('--scenarios', undefined)?.split(',');
const skipMemory = argv.includes('--skip-memory');
const HTTPD = path.join(root, 'packages/httpd/bin/httpd.js');
const log = (...a) => console.error(...a);
const lines = [];
const out = (s = '') => (lines.push(s), console.log(s));

for (const tool of ['wrk', 'h2load', 'nginx', 'taskset', 'openssl']) {
  if (!has(tool)) {
    console.error(`bench/tls.mjs needs ${tool} (apt-get install wrk nghttp2-client nginx-light util-linux openssl)`);
    process.exit(2);
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tls-'));
const site = path.join(work, 'site');
fs.mkdirSync(site);
for (const [name, size] of [['1k.bin', 1024], ['100k.bin', 100 * 1024], ['10m.bin', 10 * 1024 * 1024]]) fs.writeFileSync(path.join(site, name), crypto.randomBytes(size));
const certs = path.join(work, 'certs');
fs.mkdirSync(certs);
const cert = path.join(certs, '__default__.crt');
const key = path.join(certs, '__default__.key');
spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
fs.chmodSync(key, 0o600);
// nginx's workers run as nobody: everything but the key must be readable by them.
fs.chmodSync(work, 0o755);
const vhosts = path.join(work, 'vhosts');
fs.mkdirSync(vhosts);
await packDirectory(site, path.join(work, 'site.webroot'), { compress: false });
fs.symlinkSync(path.join(work, 'site.webroot'), path.join(vhosts, '__default__'));

const pin = (cmd, args) => ['taskset', ['-c', '0', cmd, ...args]];
const httpd = (env = {}, extra = []) => (port) => {
  const [cmd, args] = pin(process.execPath, [HTTPD, vhosts, '--workers', '1', '--port', '0', '--host', '127.0.0.1', '--tls-port', String(port), '--certs', certs, ...extra]);
  return { cmd, args, env };
};
const nginx = (port) => {
  const ngx = path.join(work, `nginx-${port}`);
  fs.mkdirSync(ngx);
  fs.writeFileSync(
    path.join(ngx, 'nginx.conf'),
    `worker_processes 1;\ndaemon off;\npid ${ngx}/nginx.pid;\nerror_log ${ngx}/error.log;\nevents { worker_connections 4096; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 10000000;\n  keepalive_timeout 60s;\n  client_body_temp_path ${ngx};\n  proxy_temp_path ${ngx};\n  fastcgi_temp_path ${ngx};\n  uwsgi_temp_path ${ngx};\n  scgi_temp_path ${ngx};\n  server {\n    listen 127.0.0.1:${port} ssl http2;\n    ssl_certificate ${cert};\n    ssl_certificate_key ${key};\n    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_session_tickets on;\n    root ${site};\n  }\n}\n`,
  );
  const [cmd, args] = pin('nginx', ['-c', path.join(ngx, 'nginx.conf'), '-p', ngx]);
  return { cmd, args, env: {} };
};
const h2peer = (port) => {
  const [cmd, args] = pin(process.execPath, [path.join(here, 'peers/h2-peer.mjs'), cert, key, path.join(site, '1k.bin'), String(port)]);
  return { cmd, args, env: {} };
};

/** h2load, bounded by -n and a timeout; returns { rps, bytesPerSec, errors, ok }. */
function runH2load({ port, target, n, clients, streams = 1, h1 = false, headers = [] }) {
  const args = ['-n', String(n), '-c', String(clients), '-m', String(streams), ...(h1 ? ['--h1'] : []), ...headers.flatMap((h) => ['-H', h]), `https://127.0.0.1:${port}${target}`];
  const r = spawnSync('timeout', ['120', 'taskset', '-c', '1', 'h2load', ...args], { encoding: 'utf8' });
  const o = r.stdout ?? '';
  const total = /requests: (\d+) total/.exec(o);
  const m = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s, ([\d.]+)([KMG]?B)\/s/.exec(o);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
  const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(o);
  return {
    rps: m ? Number(m[3]) : NaN,
    bytesPerSec: m ? Number(m[4]) * unit[m[5]] : NaN,
    errors: done ? Number(done[3]) + Number(done[4]) : NaN,
    requests: done ? Number(done[2]) : total ? Number(total[1]) : NaN,
    ok: r.status === 0 && done !== null && Number(done[2]) > 0,
    raw: o.slice(-600),
  };
}

const rate = Math.max(1, SECONDS);
const allScenarios = [
  { id: 'h1 1k', unit: 'req/s', run: (p) => runWrk({ port: p, target: '/1k.bin', seconds: SECONDS, threads: 1, connections: 50, cpu: 1, scheme: 'https' }) },
  { id: 'h1 new conn', unit: 'req/s', run: (p) => runH2load({ port: p, target: '/1k.bin', n: 2000 * rate, clients: 25, h1: true, headers: ['Connection: close'] }) },
  { id: 'h1 10m', unit: 'MiB/s', run: (p) => runWrk({ port: p, target: '/10m.bin', seconds: SECONDS, threads: 1, connections: 4, cpu: 1, scheme: 'https' }) },
  { id: 'h2 1k', unit: 'req/s', run: (p) => runH2load({ port: p, target: '/1k.bin', n: 20000 * rate, clients: 50, streams: 10 }), peer: true },
  { id: 'h2 304', unit: 'req/s', run: (p, s) => runH2load({ port: p, target: '/1k.bin', n: 20000 * rate, clients: 50, streams: 10, headers: [`if-none-match: ${s.etag}`] }), peer: true },
  { id: 'h2 100k', unit: 'MiB/s', run: (p) => runH2load({ port: p, target: '/100k.bin', n: 3000 * rate, clients: 10, streams: 10 }) },
  { id: 'h2 10m', unit: 'MiB/s', run: (p) => runH2load({ port: p, target: '/10m.bin', n: 40 * rate, clients: 4, streams: 1 }) },
];
const scenarios = allScenarios.filter((sc) => onlyScenarios === undefined || onlyScenarios.includes(sc.id.replace(/ /g, '-')));

/** The ETag a server gives /1k.bin over HTTP/2 (for the 304 scenario). */
function etagOf(port) {
  const r = spawnSync('timeout', ['10', 'nghttp', '-v', '-n', `https://127.0.0.1:${port}/1k.bin`], { encoding: 'utf8' });
  return /etag: (".*")/.exec(r.stdout ?? '')?.[1];
}

const tlsPeer = (port) => {
  const [cmd, args] = pin(process.execPath, [path.join(here, 'peers/tls-peer.mjs'), cert, key, path.join(site, '1k.bin'), String(port)]);
  return { cmd, args, env: {} };
};

const defs = [
  { name: 'webroot', make: httpd() },
  { name: 'webroot-portable', make: httpd({ WEBROOT_PORTABLE_SOCKETS: '1' }), only: ['h1 1k', 'h1 10m'] },
  { name: 'nginx', make: nginx },
  { name: 'node:http2', make: h2peer, only: ['h2 1k', 'h2 304'] },
  { name: 'raw-tls', make: tlsPeer, only: ['h1 1k'] },
].filter((d) => onlyServers === undefined || onlyServers.includes(d.name));
const servers = [];
for (const d of defs) {
  const port = await freePort();
  const { cmd, args, env } = d.make(port);
  log(`starting ${d.name} on ${port}`);
  const s = await startServer(d.name, cmd, args, port, { env: { ...process.env, ...env } });
  s.only = d.only;
  s.etag = etagOf(port);
  servers.push(s);
}
const results = {};
let rssUnderLoad = NaN;
try {
  log('warming up');
  for (const s of servers) for (const sc of scenarios.filter((x) => ['h1 1k', 'h2 1k'].includes(x.id))) if (!s.only || s.only.includes(sc.id)) sc.run(s.port, s);
  for (let rep = 0; rep < REPS; rep++) {
    for (const sc of scenarios) {
      for (const s of servers) {
        if (s.only && !s.only.includes(sc.id)) continue;
        const cpu0 = treeCpuSeconds(s.child.pid);
        const r = sc.run(s.port, s);
        // Server CPU per request: what tells servers apart where the load generator saturates first.
        r.serverCpuPerRequest = (treeCpuSeconds(s.child.pid) - cpu0) / r.requests;
        if (!(r.errors === 0) && Number.isFinite(r.errors)) log(`  ${s.name} ${sc.id}: ${r.errors} errors`);
        if (Number.isNaN(r.rps)) log(`  ${s.name} ${sc.id}: no result: ${r.raw}`);
        ((results[s.name] ??= {})[sc.id] ??= []).push(r);
        log(`  [rep ${rep + 1}/${REPS}] ${sc.id.padEnd(12)} ${s.name.padEnd(17)} ${r.rps.toFixed(0).padStart(7)} req/s  ${(r.bytesPerSec / 2 ** 20).toFixed(0)} MiB/s  ${(r.serverCpuPerRequest * 1e6).toFixed(1)} µs CPU/req`);
      }
    }
  }
  if (!skipMemory && servers[0]?.name === 'webroot') rssUnderLoad = await rssDuringH2Load(servers[0]);
} finally {
  for (const s of servers) await s.stop();
}

/** The worker's peak RSS while h2load runs the 100 KB scenario against it. */
async function rssDuringH2Load(s) {
  const pid = workerPid(s);
  if (pid === undefined) return NaN;
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
  await new Promise((resolve) => {
    const c = spawn('timeout', ['120', 'taskset', '-c', '1', 'h2load', '-n', String(3000 * rate), '-c', '50', '-m', '10', `https://127.0.0.1:${s.port}/100k.bin`], { stdio: 'ignore' });
    c.on('exit', resolve);
  });
  clearInterval(timer);
  return peak;
}

function workerPid(s) {
  for (const line of s.output().split('\n')) {
    try {
      const e = JSON.parse(line);
      if (e.event === 'vhost-loaded' && e.worker === 1) return e.pid;
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}
function rssOf(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}

/** RSS of a worker holding `count` idle HTTP/2 sessions (opened by a separate client process). */
async function idleSessions(count) {
  const port = await freePort();
  const { cmd, args } = httpd({}, ['--keepalive-timeout', '120'])(port);
  const s = await startServer('webroot', cmd, args, port);
  const pid = workerPid(s);
  const before = rssOf(pid);
  // 20 chains of sequential connects, so the handshakes do not all land at once.
  const client = `
    const http2 = require('node:http2');
    const sessions = [];
    let open = 0;
    const chain = (k) => {
      if (k === 0) return;
      const c = http2.connect('https://127.0.0.1:${port}', { rejectUnauthorized: false });
      c.on('error', () => {});
      c.on('connect', () => { sessions.push(c); if (++open === ${count}) console.log('open'); chain(k - 1); });
    };
    for (let i = 0; i < 20; i++) chain(${Math.ceil(count / 20)});
    setTimeout(() => process.exit(0), 60000);`;
  const c = spawn(process.execPath, ['-e', client], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => {
    c.stdout.on('data', (d) => String(d).includes('open') && resolve());
    setTimeout(resolve, 50_000);
  });
  await new Promise((r) => setTimeout(r, 1000));
  const held = rssOf(pid);
  c.kill('SIGKILL');
  await s.stop();
  return { before, held };
}
const idle = skipMemory ? undefined : await idleSessions(1000);

const med = (xs, pick) => median(xs.map(pick).filter(Number.isFinite));
const pickOf = (sc) => (sc.unit === 'MiB/s' ? (r) => r.bytesPerSec / 2 ** 20 : (r) => r.rps);
const fmt = (xs, pick, digits = 0) => {
  const v = (xs ?? []).map(pick).filter(Number.isFinite);
  return v.length === 0 ? '–' : v.length > 1 ? `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})` : v[0].toFixed(digits);
};

out(`# HTTPS and HTTP/2 benchmark, ${new Date().toISOString()}`);
out();
out(`Command: \`node bench/tls.mjs ${argv.join(' ')}\`. Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}). Each server one worker on CPU 0, load generator on CPU 1; TLS 1.3, EC P-256, the same certificate for all. ${REPS} interleaved repetitions; medians (min–max). The machine is shared: read the ratios, not the absolute numbers.`);
out();
out(`| server | ${scenarios.map((s) => `${s.id} (${s.unit})`).join(' | ')} |`);
out(`|---|${scenarios.map(() => '---:').join('|')}|`);
for (const [name, r] of Object.entries(results)) out(`| ${name} | ${scenarios.map((sc) => fmt(r[sc.id], pickOf(sc))).join(' | ')} |`);
out();
out('Ratios of medians:');
out();
out(`| ratio | ${scenarios.map((s) => s.id).join(' | ')} |`);
out(`|---|${scenarios.map(() => '---:').join('|')}|`);
for (const [a, b] of [['webroot', 'nginx'], ['webroot', 'node:http2'], ['webroot', 'raw-tls'], ['webroot', 'webroot-portable']]) {
  const cells = scenarios.map((sc) => {
    const x = med(results[a]?.[sc.id] ?? [], pickOf(sc));
    const y = med(results[b]?.[sc.id] ?? [], pickOf(sc));
    return Number.isFinite(x / y) ? `${(x / y).toFixed(2)}×` : '–';
  });
  out(`| ${a} / ${b} | ${cells.join(' | ')} |`);
}
out();
out('Server CPU per request, µs (medians):');
out();
out(`| server | ${scenarios.map((s) => s.id).join(' | ')} |`);
out(`|---|${scenarios.map(() => '---:').join('|')}|`);
for (const [name, r] of Object.entries(results)) out(`| ${name} | ${scenarios.map((sc) => fmt(r[sc.id], (x) => x.serverCpuPerRequest * 1e6, 1)).join(' | ')} |`);
out();
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
if (idle) out(`Memory: worker RSS ${mib(idle.before)} before, ${mib(idle.held)} holding 1,000 idle HTTP/2 sessions (target < 150 MiB); peak ${mib(rssUnderLoad)} under h2load -c50 -m10 of the 100 KB file.`);
out();

fs.rmSync(work, { recursive: true, force: true });
const resultsDir = path.join(here, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `tls-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
log(`results written to ${path.relative(root, file)}`);
