#!/usr/bin/env node
// Large-site scenarios (issue 15): generated sites of 10k / 100k / 1M small files
// (100 B - 4 KiB, 1,000 directories), made once and cached outside the repository
// (WEBROOT_BENCH_CACHE, default ~/.cache/webroot-bench), packed with --no-compress.
// Single-core: the server on CPU 0 with one worker, wrk on CPU 1.
//   node bench/large.mjs [--sizes 10000,100000,1000000] [--seconds 5] [--reps 3] [--soak 30] [--repack]
//     [--io sync,async,stream] [--also FILE] [--base HTTPD_BIN] [--cold [data]]
// --io: the IO modes the largest site is served in (one server each; the smallest site in sync);
// --also: one more webroot of the largest tree (another build's packing), served in sync beside it;
// --base: another build's packages/httpd/bin/httpd.js, serving the largest site in each --io mode but sync;
// --cold: before each measured rotation of the largest site, drop that server's copy (its webroot,
// or nginx's tree) from the page cache (bench/drop-cache.py, posix_fadvise), so that every server
// starts each rep from the disk (servers of one webroot file share its page cache otherwise);
// --cold data: only a webroot's data region, its index kept, as nginx's dentries and inodes are
// (kernel slab: dropping the tree's pages leaves them).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWebroot } from '@webroot/format';
import { LARGE_CACHE, ensureLargeTree } from './large-tree.mjs';
import { freePort, has, median, runWrk, startServer } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HTTPD = path.join(here, '..', 'packages/httpd/bin/httpd.js');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const SIZES = opt('--sizes', '10000,100000,1000000').split(',').map(Number);
const SECONDS = Number(opt('--seconds', 5));
const REPS = Number(opt('--reps', 3));
const SOAK = Number(opt('--soak', 30));
const MODES = opt('--io', 'sync').split(',');
const ALSO = opt('--also', undefined);
const COLD = argv.includes('--cold');
const COLD_DATA = COLD && opt('--cold', '') === 'data';
const BASE = opt('--base', undefined);
for (const m of MODES) if (!['sync', 'async', 'stream'].includes(m)) throw new Error(`--io: unknown mode ${m} (sync, async or stream)`);
const log = (...a) => console.error(...a);
const lines = [];
const out = (s = '') => {
  lines.push(s);
  console.log(s);
};
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const pin = has('taskset');

/** The packed webroot of the N-file tree, packed (and its packing measured) when missing. */
function ensureWebroot(n, tree) {
  const file = path.join(LARGE_CACHE, `large-${n}.webroot`);
  const stats = `${file}.pack.json`;
  if (!argv.includes('--repack') && fs.existsSync(file) && fs.existsSync(stats)) return { file, pack: JSON.parse(fs.readFileSync(stats, 'utf8')) };
  log(`packing ${n} files (mkroot --no-compress)`);
  spawnSync('sh', ['-c', `find ${tree} -type f -print0 | xargs -0 cat > /dev/null`]); // page cache warm: mkroot's time, not the disk's
  const r = spawnSync(process.execPath, [path.join(here, 'pack-child.mjs'), tree, file, '--no-compress'], { encoding: 'utf8', timeout: 3600_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  const pack = { ...JSON.parse(r.stdout.trim().split('\n').pop()), measured: new Date().toISOString() };
  fs.writeFileSync(stats, JSON.stringify(pack));
  return { file, pack };
}

/** Starts httpd on one webroot (single-core), returns the server, its worker pid and the open time it logged. */
async function startWebroot(file, mode = 'sync', httpd = HTTPD) {
  const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-large-vhosts-'));
  fs.symlinkSync(file, path.join(vhosts, '__default__'));
  const port = await freePort();
  const args = [httpd, vhosts, '--io', mode, '--workers', '1', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'info', '--rescan-interval', '1'];
  const s = await startServer('webroot', pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args, port);
  const events = () => s.output().split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  const deadline = Date.now() + 20_000;
  let loaded;
  while (!(loaded = events().find((e) => e.event === 'vhost-loaded')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!loaded) throw new Error(`no vhost-loaded: ${s.output()}`);
  return { ...s, vhosts, pid: loaded.pid, openMs: loaded.ms, events };
}

/** nginx serving the unpacked tree (single-core, one worker). */
async function startNginx(root) {
  const port = await freePort();
  const ngx = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nginx-'));
  // The tree lives under the cache directory (~/.cache): nginx's workers must be able to read it.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  fs.writeFileSync(path.join(ngx, 'nginx.conf'), `${user}worker_processes 1;\ndaemon off;\npid ${ngx}/nginx.pid;\nerror_log ${ngx}/error.log;\nevents { worker_connections 4096; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n  client_body_temp_path ${ngx};\n  proxy_temp_path ${ngx};\n  fastcgi_temp_path ${ngx};\n  uwsgi_temp_path ${ngx};\n  scgi_temp_path ${ngx};\n  server { listen 127.0.0.1:${port}; root ${root}; }\n}\n`);
  return startServer('nginx', pin ? 'taskset' : 'nginx', pin ? ['-c', '0', 'nginx', '-c', path.join(ngx, 'nginx.conf'), '-p', ngx] : ['-c', path.join(ngx, 'nginx.conf'), '-p', ngx], port);
}

/** fincore's resident size of each file, e.g. '787M of 2.2G'. */
function fincore(files) {
  return files
    .map((f) => {
      const r = spawnSync('fincore', ['-n', '-o', 'RES,SIZE', f], { encoding: 'utf8' });
      return r.status === 0 ? `${path.basename(f)} ${r.stdout.trim().split(/\s+/).join(' of ')}` : `${path.basename(f)} ? (fincore: ${r.stderr.trim() || 'missing'})`;
    })
    .join(', ');
}

/** The share of nginx's tree in the page cache, from 2,000 of its files spread over the path list. */
function fincoreSample(site) {
  const paths = fs.readFileSync(site.pathsFile, 'utf8').split('\n').filter(Boolean);
  const step = Math.max(1, Math.floor(paths.length / 2000));
  const sample = paths.filter((_, i) => i % step === 0).slice(0, 2000).map((p) => path.join(site.dir, p));
  const r = spawnSync('fincore', ['-b', '-n', '-o', 'PAGES,SIZE', ...sample], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `? (fincore: ${r.stderr.trim() || 'missing'})`;
  let pages = 0;
  let all = 0;
  for (const line of r.stdout.trim().split('\n')) {
    const [resident, bytes] = line.trim().split(/\s+/).map(Number);
    pages += resident;
    all += Math.ceil(bytes / 4096);
  }
  return `${((100 * pages) / all).toFixed(0)}% of their pages (${pages} of ${all}, ${sample.length} files)`;
}

const rotation = (port, pathsFile, seconds) =>
  runWrk({ port, target: '/', seconds, threads: 1, connections: 50, script: path.join(here, 'rotate-random.lua'), scriptArgs: [pathsFile], cpu: pin ? 1 : undefined });

out(`# webroot large-site benchmark, ${new Date().toISOString()}`);
out();
out(`Command: \`node bench/large.mjs ${argv.join(' ')}\`. Node ${process.version}, ${os.cpus().length} CPUs, shared with other work: compare ratios within this run only. Single-core: server on CPU 0 (1 worker, --io sync unless the name says another mode), wrk -t1 -c50 on CPU 1, random path per request (bench/rotate-random.lua).`);
out();

const sites = {};
for (const n of SIZES) {
  const tree = ensureLargeTree(n);
  sites[n] = { n, ...tree, ...ensureWebroot(n, tree.dir) };
}

// 1. Open and swap time, memory after opening (one worker), per size.
out('## Opening and swapping, per worker');
out();
out('| files | webroot | open (start-up) | swap to a new version | worker RSS after open | after swap |');
out('|---:|---:|---:|---:|---:|---:|');
for (const n of SIZES) {
  const s = await startWebroot(sites[n].file);
  await new Promise((r) => setTimeout(r, 300));
  const rssOpen = rss(s.pid);
  // A new version, as far as the registry can tell: the same bytes with a new mtime (a copy of 2 GB per run would measure the disk).
  const t = new Date();
  fs.utimesSync(sites[n].file, t, t);
  fs.utimesSync(sites[n].file, t, t);
  const deadline = Date.now() + 20_000;
  let swapped;
  while (!(swapped = s.events().find((e) => e.event === 'vhost-swapped')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  out(`| ${n.toLocaleString('en')} | ${mib(fs.statSync(sites[n].file).size)} | ${s.openMs?.toFixed(1)} ms | ${swapped?.ms?.toFixed(1) ?? '?'} ms | ${mib(rssOpen)} | ${mib(rss(s.pid))} |`);
  await s.stop();
  fs.rmSync(s.vhosts, { recursive: true, force: true });
}
out();

// 2. mkroot on each tree (measured when the webroot was packed).
out('## mkroot --no-compress');
out();
out('| files | time | files/s | peak RSS | measured |');
out('|---:|---:|---:|---:|---|');
for (const n of SIZES) {
  const p = sites[n].pack;
  out(`| ${p.files.toLocaleString('en')} | ${p.seconds.toFixed(1)} s | ${Math.round(p.files / p.seconds).toLocaleString('en')} | ${mib(p.maxRssBytes)} | ${p.measured} |`);
}
out();

// 3. Random rotation: the largest site soaked for SOAK s (RSS), then interleaved reps against the smallest and nginx.
const big = Math.max(...SIZES);
const small = Math.min(...SIZES);
if (has('wrk')) {
  const servers = [];
  servers.push({ name: `webroot ${big}`, n: big, s: await startWebroot(sites[big].file) });
  for (const mode of MODES.filter((m) => m !== 'sync')) servers.push({ name: `webroot ${big} ${mode}`, n: big, s: await startWebroot(sites[big].file, mode) });
  if (BASE) for (const mode of MODES.filter((m) => m !== 'sync')) servers.push({ name: `webroot ${big} ${mode}, base build`, n: big, s: await startWebroot(sites[big].file, mode, BASE) });
  if (ALSO) servers.push({ name: `webroot ${big} ${path.basename(ALSO)}`, n: big, s: await startWebroot(ALSO) });
  if (small !== big) servers.push({ name: `webroot ${small}`, n: small, s: await startWebroot(sites[small].file) });
  if (has('nginx')) for (const n of [...new Set([small, big])]) servers.push({ name: `nginx ${n} (unpacked)`, n, s: await startNginx(sites[n].dir) });
  const soaked = servers.find((x) => x.name === `webroot ${big}`);
  log(`soak: ${SOAK} s random rotation over ${big} paths`);
  const rssBefore = rss(soaked.s.pid);
  const soak = rotation(soaked.s.port, sites[big].pathsFile, SOAK);
  const rssAfter = rss(soaked.s.pid);
  const results = {};
  for (const x of servers) rotation(x.s.port, sites[x.n].pathsFile, 2); // warm-up
  const bigFiles = [sites[big].file, ...(ALSO ? [ALSO] : [])];
  /** What each server reads its big site from, for --cold. */
  const dataFrom = (file) => {
    const w = openWebroot(file);
    const at = w.dataStart;
    w.close();
    return at;
  };
  const webrootCopy = (file) => (COLD_DATA ? `${file}@${dataFrom(file)}` : file);
  const copyOf = (x) => (x.n !== big ? undefined : x.name.startsWith('nginx') ? sites[big].dir : webrootCopy(x.name.endsWith(path.basename(ALSO ?? '\0')) ? ALSO : sites[big].file));
  const drop = (what) => {
    const r = spawnSync('python3', [path.join(here, 'drop-cache.py'), what], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`--cold: could not drop ${what} from the page cache (${r.stderr.trim() || 'python3 missing'})`);
  };
  // How much of each copy the page cache holds (this VM pages out file pages unused for a minute).
  const cacheState = () => ({ [`webroot ${big}`]: fincore(bigFiles), [`nginx ${big} tree (a sample of 2,000 files)`]: fincoreSample(sites[big]) });
  const cached = cacheState();
  for (let rep = 0; rep < REPS; rep++) {
    for (const x of servers) {
      if (COLD && copyOf(x) !== undefined) drop(copyOf(x));
      const r = rotation(x.s.port, sites[x.n].pathsFile, SECONDS);
      if (r.errors) log(`  ${x.name}: ${r.errors} errors`);
      (results[x.name] ??= []).push(r.rps);
      log(`  [rep ${rep + 1}/${REPS}] ${x.name.padEnd(24)} ${r.rps.toFixed(0).padStart(7)} req/s`);
    }
  }
  const cachedAfter = cacheState();
  for (const x of servers) await x.s.stop();
  out(`## Random rotation over every path (${SECONDS} s x ${REPS} interleaved, medians with min-max)`);
  out();
  out('| server | req/s |');
  out('|---|---:|');
  for (const [name, v] of Object.entries(results)) out(`| ${name} | ${median(v).toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)}) |`);
  out();
  const m = (name) => median(results[name] ?? [NaN]);
  const m_ = m;
  out(`- webroot ${big} / webroot ${small}: ${(m(`webroot ${big}`) / m(`webroot ${small}`)).toFixed(2)}x (target >= 0.8x)`);
  if (results[`nginx ${big} (unpacked)`]) out(`- webroot ${big} / nginx ${big}: ${(m(`webroot ${big}`) / m(`nginx ${big} (unpacked)`)).toFixed(2)}x (target >= 1x)`);
  for (const m of MODES.filter((x) => x !== 'sync')) out(`- webroot ${big} ${m} / nginx ${big}: ${(m_(`webroot ${big} ${m}`) / m_(`nginx ${big} (unpacked)`)).toFixed(2)}x; / webroot ${small}: ${(m_(`webroot ${big} ${m}`) / m_(`webroot ${small}`)).toFixed(2)}x`);
  for (const [what, v] of Object.entries(cached)) out(`- in the page cache before the reps, ${what}: ${v}; after them: ${cachedAfter[what]}${COLD ? ` (each rep began with its copy dropped: --cold${COLD_DATA ? ' data' : ''})` : ''}`);
  out(`- ${SOAK} s soak on ${big} files: ${soak.rps.toFixed(0)} req/s, ${soak.errors} errors; worker RSS ${mib(rssBefore)} before, ${mib(rssAfter)} after (target <= 150 MB)`);
  out();
}

const resultsDir = path.join(here, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `large-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
log(`results written to ${path.relative(path.join(here, '..'), file)}`);
