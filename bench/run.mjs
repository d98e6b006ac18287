#!/usr/bin/env node
// `pnpm bench`: our httpd (each IO mode) side by side with sirv, serve-static and
// nginx (when installed) in one run, interleaved, on 127.0.0.1, bounded in time.
// Options: --mode single|machine|both  --reps N  --seconds S  --quick
//          --skip-http --skip-memory --skip-mkroot --servers a,b,c --scenarios 1m,20m,...
//          --large [--large-sizes 10000,100000,1000000]: also the large-site scenarios (bench/large.mjs)
//          (webroot-sync-jsonlog: opt-in via --servers, the json access log on)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWebroot } from '@webroot/format';
import { packDirectory } from '@webroot/mkroot';
import { ensureCorpus, ensurePackCorpus, freePort, has, head, median, runAb, runAutocannon, runWrk, startServer, treeCpuSeconds } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const quick = flag('--quick');
const REPS = Number(opt('--reps', quick ? 1 : 5));
const SECONDS = Number(opt('--seconds', quick ? 1 : 2));
const MODES = opt('--mode', 'both') === 'both' ? ['single', 'machine'] : [opt('--mode')];
const onlyServers = opt('--servers', undefined)?.split(',');
const onlyScenarios = opt('--scenarios', undefined)?.split(',');

const CORPUS = path.join(here, '.corpus');
const HTTPD = path.join(root, 'packages/httpd/bin/httpd.js');
const log = (...a) => console.error(...a);

const lines = [];
const out = (s = '') => {
  lines.push(s);
  console.log(s);
};

const tools = { wrk: has('wrk'), ab: has('ab'), nginx: has('nginx'), taskset: has('taskset') };
out(`# webroot benchmark, ${new Date().toISOString()}`);
out();
out(`Command: \`pnpm bench ${argv.join(' ')}\`. Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB.`);
out(`Load generator: ${tools.wrk ? 'wrk' : 'autocannon (wrk not installed: apt-get install wrk)'}; ab: ${tools.ab ? 'yes' : 'not installed (apt-get install apache2-utils), ab scenarios skipped'}; nginx: ${tools.nginx ? 'yes' : 'not installed (apt-get install nginx-light), skipped'}. After a warm-up pass, ${REPS} interleaved repetitions (A B C A B C ...) of ${SECONDS} s per cell; medians with min–max.`);
out();

/**
 * The packed corpus; packed again when missing, older than the corpus, unreadable by this build, or packed
 * before mkroot aligned large objects to page boundaries (FORMAT.md section 2), which sendfile(2) needs to pay.
 */
async function ensureWebroot(dir) {
  const webroot = path.join(CORPUS, 'http.webroot');
  let ok = fs.existsSync(webroot) && fs.statSync(webroot).mtimeMs >= fs.statSync(path.join(dir, '.complete')).mtimeMs;
  if (ok) {
    try {
      const w = openWebroot(webroot);
      try {
        for (const p of ['/1m.bin', '/20m.bin']) if (w.lookup(p)?.object.offset % 4096 !== 0) ok = false;
      } finally {
        w.close();
      }
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    log('packing the corpus');
    await packDirectory(dir, webroot, { compress: false });
  }
  return webroot;
}

async function httpBench() {
  const dir = path.join(CORPUS, 'http');
  log('corpus: making or reusing', dir);
  ensureCorpus(dir);
  const webroot = await ensureWebroot(dir);
  const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vhosts-'));
  fs.symlinkSync(webroot, path.join(vhosts, '__default__'));
  const paths = fs.readFileSync(path.join(dir, 'many.paths'), 'utf8').trim().split('\n');
  const rotate = path.join(here, 'rotate.lua');

  const scenarios = [
    { id: '1k', target: '/1k.bin' },
    { id: '10k', target: '/10k.bin' },
    { id: '100k', target: '/100k.bin' },
    { id: '1m', target: '/1m.bin', connections: 10 },
    { id: '20m', target: '/20m.bin', connections: 4 },
    { id: '304', target: '/1k.bin', conditional: true },
    { id: 'many', target: '/many/00000.bin', rotate: true },
    ...(tools.ab ? [{ id: 'ab -k', target: '/1k.bin', ab: true, keepAlive: true }, { id: 'ab', target: '/1k.bin', ab: true, keepAlive: false }] : []),
  ];
  if (onlyScenarios) scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => onlyScenarios.includes(s.id)));
  const results = {};

  for (const mode of MODES) {
    const single = mode === 'single' && tools.taskset;
    const workers = single ? 1 : os.availableParallelism();
    const pin = (cmd, args) => (single ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args]);
    const loadCpu = single ? 1 : undefined;
    const threads = single ? 1 : 2;
    const defs = [];
    for (const io of ['sync', 'stream', 'async']) {
      defs.push({ name: `webroot-${io}`, make: (port) => pin(process.execPath, [HTTPD, vhosts, '--io', io, '--workers', String(workers), '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn']) });
    }
    // Opt-in (--servers webroot-sync,webroot-sync-jsonlog): webroot-sync with the json access log on, to a file (issue 12's >= 85% target).
    defs.push({
      name: 'webroot-sync-jsonlog',
      optIn: true,
      make: (port) => {
        const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-jsonlog-'));
        fs.writeFileSync(path.join(d, 'httpd.toml'), `vhosts = ${JSON.stringify(vhosts)}\n[access_log]\npath = "access.log"\nformat = "json"\n`);
        return pin(process.execPath, [HTTPD, '--config', path.join(d, 'httpd.toml'), '--io', 'sync', '--workers', String(workers), '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn']);
      },
    });
    if (!single) defs.push({ name: 'webroot-sync-w1', make: (port) => [process.execPath, [HTTPD, vhosts, '--workers', '1', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn']] });
    for (const kind of ['sirv', 'serve-static']) {
      defs.push({ name: kind, make: (port) => pin(process.execPath, [path.join(here, 'peers/node-peer.mjs'), kind, dir, String(port), String(single ? 0 : workers)]) });
    }
    if (tools.nginx) {
      defs.push({
        name: 'nginx',
        make: (port) => {
          const ngx = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nginx-'));
          fs.writeFileSync(path.join(ngx, 'nginx.conf'), `worker_processes ${workers};\ndaemon off;\npid ${ngx}/nginx.pid;\nerror_log ${ngx}/error.log;\nevents { worker_connections 4096; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n  client_body_temp_path ${ngx};\n  proxy_temp_path ${ngx};\n  fastcgi_temp_path ${ngx};\n  uwsgi_temp_path ${ngx};\n  scgi_temp_path ${ngx};\n  server { listen 127.0.0.1:${port}; root ${dir}; }\n}\n`);
          return pin('nginx', ['-c', path.join(ngx, 'nginx.conf'), '-p', ngx]);
        },
      });
    }
    const servers = [];
    for (const d of defs.filter((d) => (d.optIn ? onlyServers?.includes(d.name) : !onlyServers || onlyServers.includes(d.name)))) {
      const port = await freePort();
      const [cmd, args] = d.make(port);
      log(`starting ${d.name} on ${port} (${mode})`);
      const s = await startServer(d.name, cmd, args, port);
      s.etag = (await head(port, '/1k.bin')).headers.etag;
      servers.push(s);
    }
    results[mode] = {};
    try {
      // Warm-up, not recorded: the JIT compiles the hot paths of every server before measuring.
      log(`warming up (${mode})`);
      for (const s of servers) {
        for (const sc of scenarios.filter((x) => !x.ab && ['1k', '304', 'many', '1m'].includes(x.id))) {
          if (tools.wrk) {
            runWrk({ port: s.port, target: sc.target, seconds: 1, threads, connections: sc.connections ?? 50, headers: sc.conditional ? [`If-None-Match: ${s.etag}`] : [], script: sc.rotate ? rotate : undefined, scriptArgs: sc.rotate ? [path.join(dir, 'many.paths')] : [], cpu: loadCpu });
          } else {
            await runAutocannon({ port: s.port, target: sc.target, seconds: 1, connections: 10, headers: sc.conditional ? [`If-None-Match: ${s.etag}`] : [], paths: sc.rotate ? paths : undefined });
          }
        }
      }
      for (let rep = 0; rep < REPS; rep++) {
        for (const sc of scenarios) {
          for (const s of servers) {
            let r;
            const cpu0 = treeCpuSeconds(s.child.pid);
            if (sc.ab) r = runAb({ port: s.port, target: sc.target, seconds: SECONDS, keepAlive: sc.keepAlive, cpu: loadCpu });
            else if (tools.wrk) {
              r = runWrk({
                port: s.port,
                target: sc.target,
                seconds: SECONDS,
                threads,
                connections: sc.connections ?? 50,
                headers: sc.conditional ? [`If-None-Match: ${s.etag}`] : [],
                script: sc.rotate ? rotate : undefined,
                scriptArgs: sc.rotate ? [path.join(dir, 'many.paths')] : [],
                cpu: loadCpu,
              });
            } else {
              r = await runAutocannon({ port: s.port, target: sc.target, seconds: SECONDS, connections: sc.connections ?? 50, headers: sc.conditional ? [`If-None-Match: ${s.etag}`] : [], paths: sc.rotate ? paths : undefined });
            }
            r.requests ??= r.rps * SECONDS;
            r.serverCpuPerRequest = (treeCpuSeconds(s.child.pid) - cpu0) / r.requests;
            if (r.errors > 0 && !(sc.conditional && r.errors > 0 && tools.wrk)) log(`  ${s.name} ${sc.id}: ${r.errors} errors`);
            ((results[mode][s.name] ??= {})[sc.id] ??= []).push(r);
            log(`  [${mode} rep ${rep + 1}/${REPS}] ${sc.id.padEnd(6)} ${s.name.padEnd(16)} ${r.rps.toFixed(0).padStart(7)} req/s${Number.isFinite(r.bytesPerSec) ? `  ${(r.bytesPerSec / 2 ** 20).toFixed(0)} MiB/s` : ''}`);
          }
        }
      }
    } finally {
      for (const s of servers) await s.stop();
    }
    report(mode, scenarios, results[mode]);
  }
  fs.rmSync(vhosts, { recursive: true, force: true });
  return results;
}

const fmt = (xs, pick = (r) => r.rps) => {
  const v = xs.map(pick).filter(Number.isFinite);
  if (v.length === 0) return '–';
  const m = median(v);
  return v.length > 1 ? `${m.toFixed(0)} (${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)})` : m.toFixed(0);
};
const med = (xs, pick = (r) => r.rps) => median(xs.map(pick).filter(Number.isFinite));

function report(mode, scenarios, res) {
  const title = mode === 'single' ? 'Single-core (server pinned to CPU 0 with one worker; load on CPU 1)' : `Whole-machine (${os.availableParallelism()} workers, nothing pinned)`;
  out(`## ${title}: requests/s`);
  out();
  const cols = [...scenarios.map((s) => s.id), '1m MiB/s', '20m MiB/s'];
  out(`| server | ${cols.join(' | ')} |`);
  out(`|---|${cols.map(() => '---:').join('|')}|`);
  for (const [name, r] of Object.entries(res)) {
    const cells = scenarios.map((s) => fmt(r[s.id] ?? []));
    cells.push(fmt(r['1m'] ?? [], (x) => x.bytesPerSec / 2 ** 20), fmt(r['20m'] ?? [], (x) => x.bytesPerSec / 2 ** 20));
    out(`| ${name} | ${cells.join(' | ')} |`);
  }
  out();
  const peers = Object.keys(res).filter((n) => !n.startsWith('webroot'));
  const ours = Object.keys(res).filter((n) => n.startsWith('webroot'));
  out(`Ratios of medians (ours / peer; 20m by bytes/s):`);
  out();
  out(`| ours vs peer | ${scenarios.map((s) => s.id).join(' | ')} |`);
  out(`|---|${scenarios.map(() => '---:').join('|')}|`);
  for (const o of ours) {
    for (const p of peers) {
      const cells = scenarios.map((s) => {
        const pick = s.id === '20m' ? (x) => x.bytesPerSec : (x) => x.rps;
        const a = med(res[o]?.[s.id] ?? [], pick);
        const b = med(res[p]?.[s.id] ?? [], pick);
        return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–';
      });
      out(`| ${o} / ${p} | ${cells.join(' | ')} |`);
    }
  }
  out();
  out(`Server CPU per request (µs, user + system of the server's whole process tree, medians; taskset pins the server, so where the load generator saturates first this is what tells servers apart):`);
  out();
  out(`| server | ${scenarios.map((s) => s.id).join(' | ')} |`);
  out(`|---|${scenarios.map(() => '---:').join('|')}|`);
  for (const [name, r] of Object.entries(res)) {
    const cells = scenarios.map((s) => {
      const v = med(r[s.id] ?? [], (x) => x.serverCpuPerRequest * 1e6);
      return Number.isFinite(v) ? v.toFixed(1) : '–';
    });
    out(`| ${name} | ${cells.join(' | ')} |`);
  }
  out();
  if (res.nginx) {
    out(`| CPU per request, ours / nginx | ${scenarios.map((s) => s.id).join(' | ')} |`);
    out(`|---|${scenarios.map(() => '---:').join('|')}|`);
    for (const o of ours) {
      const cells = scenarios.map((s) => {
        const a = med(res[o]?.[s.id] ?? [], (x) => x.serverCpuPerRequest);
        const b = med(res.nginx?.[s.id] ?? [], (x) => x.serverCpuPerRequest);
        return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–';
      });
      out(`| ${o} | ${cells.join(' | ')} |`);
    }
    out();
  }
  if (mode === 'machine' && res['webroot-sync'] && res['webroot-sync-w1']) {
    const r = med(res['webroot-sync']['1k']) / med(res['webroot-sync-w1']['1k']);
    out(`Scaling: ${os.availableParallelism()} workers / 1 worker on keep-alive 1 KB: ${r.toFixed(2)}× (target ≥ 1.6×).`);
    // The load generator runs on the same cores. With one worker saturating a core at T1 req/s, wrk costing w
    // CPU-seconds per request, and P cores shared by everything, n workers reach at most P / (1/T1 + w) req/s.
    const t1 = med(res['webroot-sync-w1']['1k']);
    const w = med(res['webroot-sync-w1']['1k'], (x) => x.loadCpuPerRequest);
    if (Number.isFinite(w)) {
      const cores = os.availableParallelism();
      const bound = cores / (1 / t1 + w) / t1;
      out(`wrk itself used ${(w * 1e6).toFixed(1)} µs of CPU per request, the worker ~${(1e6 / t1).toFixed(1)} µs: sharing ${cores} cores with wrk, ${cores} workers can reach at most ${cores} / (1/T1 + w) = ${bound.toFixed(2)}× one worker here.`);
    }
    out();
  }
}

async function memoryRun(cacheSize) {
  const dir = path.join(CORPUS, 'http');
  ensureCorpus(dir);
  const webroot = await ensureWebroot(dir);
  const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vhosts-'));
  fs.symlinkSync(webroot, path.join(vhosts, '__default__'));
  const copy = path.join(os.tmpdir(), `bench-copy-${process.pid}.webroot`);
  fs.copyFileSync(webroot, copy);
  const port = await freePort();
  const s = await startServer('webroot', process.execPath, [HTTPD, vhosts, '--workers', '1', '--port', String(port), '--host', '127.0.0.1', '--cache-size', cacheSize], port);
  await new Promise((r) => setTimeout(r, 500));
  const events = () => s.output().split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  const loaded = events().find((e) => e.event === 'vhost-loaded');
  const pid = loaded.pid;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  const rssLoaded = rss();
  // touch every one of the 10,000 small files once (fills the default object cache)
  const paths = fs.readFileSync(path.join(dir, 'many.paths'), 'utf8').trim().split('\n');
  if (tools.wrk) runWrk({ port, target: '/', seconds: 2, threads: 1, connections: 10, script: path.join(here, 'rotate.lua'), scriptArgs: [path.join(dir, 'many.paths')] });
  else await runAutocannon({ port, target: '/', seconds: 2, connections: 10, paths });
  const rssServing = rss();
  const tmp = path.join(vhosts, '.tmp');
  fs.symlinkSync(copy, tmp);
  fs.renameSync(tmp, path.join(vhosts, '__default__'));
  await new Promise((r) => setTimeout(r, 1500));
  const swapped = events().find((e) => e.event === 'vhost-swapped');
  const rssAfterSwap = rss();
  await s.stop();
  fs.rmSync(copy, { force: true });
  fs.rmSync(vhosts, { recursive: true, force: true });
  return { rssLoaded, rssServing, rssAfterSwap, openMs: loaded.ms, swapMs: swapped?.ms };
}

async function memoryBench() {
  const withCache = await memoryRun('32M');
  const noCache = await memoryRun('0');
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  out('## Memory and open time with the 10,000-file site');
  out();
  out(`| measure | default (32 MiB object cache) | --cache-size 0 | target |`);
  out(`|---|---:|---:|---:|`);
  out(`| worker RSS, site loaded | ${mib(withCache.rssLoaded)} | ${mib(noCache.rssLoaded)} | ≤ 80 MiB |`);
  out(`| worker RSS, after serving every file for 2 s | ${mib(withCache.rssServing)} | ${mib(noCache.rssServing)} | |`);
  out(`| worker RSS, after a swap | ${mib(withCache.rssAfterSwap)} | ${mib(noCache.rssAfterSwap)} | |`);
  out(`| open + validate + index (start-up) | ${withCache.openMs.toFixed(1)} ms | ${noCache.openMs.toFixed(1)} ms | ≤ 100 ms |`);
  out(`| open + validate + index (swap) | ${withCache.swapMs?.toFixed(1) ?? '?'} ms | ${noCache.swapMs?.toFixed(1) ?? '?'} ms | ≤ 100 ms |`);
  out();
}

function mkrootBench() {
  const dir = path.join(CORPUS, 'pack');
  log('mkroot corpus: making or reusing', dir);
  ensurePackCorpus(dir);
  const outFile = path.join(os.tmpdir(), `bench-pack-${process.pid}.webroot`);
  const run = (flag) => {
    // warm the page cache first, so the number is mkroot's, not the disk's
    spawnSync('sh', ['-c', `cat $(find ${dir} -type f) > /dev/null`]);
    const r = spawnSync(process.execPath, [path.join(here, 'pack-child.mjs'), dir, outFile, ...(flag ? [flag] : [])], { encoding: 'utf8', timeout: 1200_000 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const plain = run('--no-compress');
  const compressed = run();
  fs.rmSync(outFile, { force: true });
  out('## mkroot: packing 10,000 files');
  out();
  out(`Corpus: ${plain.files} files, ${(plain.bytesIn / 1e6).toFixed(0)} MB (half text, half random), page cache warm.`);
  out();
  out(`| run | time | MB/s | peak RSS | output |`);
  out(`|---|---:|---:|---:|---:|`);
  for (const [name, r] of [['--no-compress', plain], ['default (br q11 + gzip 9 on text)', compressed]]) {
    out(`| ${name} | ${r.seconds.toFixed(2)} s | ${(r.bytesIn / 1e6 / r.seconds).toFixed(0)} | ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB | ${(r.size / 1e6).toFixed(0)} MB |`);
  }
  out();
}

if (!flag('--skip-http')) await httpBench();
if (!flag('--skip-memory')) await memoryBench();
if (!flag('--skip-mkroot')) mkrootBench();
if (flag('--large')) {
  // The large-site scenarios (issue 15): their own script, since the 1M-file tree takes minutes to make once.
  const r = spawnSync(process.execPath, [path.join(here, 'large.mjs'), ...(opt('--large-sizes', undefined) ? ['--sizes', opt('--large-sizes')] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 7200_000 });
  for (const line of (r.stdout ?? '').split('\n')) out(line);
}

const resultsDir = path.join(here, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
log(`results written to ${path.relative(root, file)}`);
