#!/usr/bin/env node
// The site-rules scenarios of issue 11, single-core, each against its peer in
// the same run: a site with a generated _redirects of 2,000 rules (1,900 exact
// paths, 100 with placeholders or splats) and a 50-block _headers, next to the
// same tree without rules.
//   keep-alive GET of the 1 KB file: rules site vs no-rules site (target >= 0.90)
//   GET that hits a redirect rule (a 301, no body) vs the no-rules site's 304 (target >= 0.90)
//   opening the webroot (open + compile, what a swap costs) vs without rules (target <= 2x)
// Usage: node bench/rules.mjs [--reps N] [--seconds S]   (run it under flock /tmp/bench.lock)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWebroot } from '@webroot/format';
import { packDirectory } from '@webroot/mkroot';
import { execFileSync } from 'node:child_process';
import { ensureCorpus, freePort, has, head, median, runWrk, startServer } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HTTPD = path.join(here, '..', 'packages/httpd/bin/httpd.js');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const REPS = Number(opt('--reps', 3));
const SECONDS = Number(opt('--seconds', 2));
if (!has('wrk') || !has('taskset')) {
  console.error('bench/rules.mjs needs wrk and taskset (apt-get install wrk util-linux)');
  process.exit(1);
}

// The corpus of `pnpm bench` (1k ... 20m files and 10,000 small ones), hard-linked into a
// work tree so the rule files can be added without touching it.
const corpus = path.join(here, '.corpus', 'http');
ensureCorpus(corpus);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rules-'));
const src = path.join(work, 'site');
execFileSync('cp', ['-al', corpus, src]);
for (const extra of ['.complete', 'many.paths']) fs.rmSync(path.join(src, extra), { force: true });
const plain = path.join(work, 'plain.webroot');
await packDirectory(src, plain, { compress: false });

const redirects = [];
for (let i = 0; i < 1900; i++) redirects.push(`/old/section-${i % 40}/page-${i} /new/page-${i} 301`);
for (let i = 0; i < 50; i++) redirects.push(`/blog/${2000 + i}/:month/:slug /posts/${2000 + i}-:month-:slug 301`);
for (let i = 0; i < 50; i++) redirects.push(`/docs-v${i}/* /docs/v${i}/:splat 302`);
const headers = ['/*', '  X-Frame-Options: DENY', '  Referrer-Policy: no-referrer', '/assets/*', '  Cache-Control: public, max-age=31536000, immutable'];
for (let i = 0; i < 48; i++) headers.push(`/section-${i}/*`, `  X-Section: ${i}`);
fs.writeFileSync(path.join(src, '_redirects'), `${redirects.join('\n')}\n`);
fs.writeFileSync(path.join(src, '_headers'), `${headers.join('\n')}\n`);
const ruled = path.join(work, 'rules.webroot');
await packDirectory(src, ruled, { compress: false });

const vhostsOf = (file) => {
  const d = fs.mkdtempSync(path.join(work, 'vhosts-'));
  fs.symlinkSync(file, path.join(d, '__default__'));
  return d;
};
const servers = [];
for (const [name, file] of [['no rules', plain], ['2,000 rules + 50 header blocks', ruled]]) {
  const port = await freePort();
  const s = await startServer(name, 'taskset', ['-c', '0', process.execPath, HTTPD, vhostsOf(file), '--workers', '1', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'], port);
  s.etag = (await head(port, '/1k.bin')).headers.etag;
  servers.push(s);
}
const [base, rules] = servers;
const redirectTarget = '/old/section-7/page-1287';
const hit = await head(rules.port, redirectTarget);
if (hit.status !== 301) throw new Error(`the redirect rule did not answer 301 but ${hit.status}`);

const cells = [
  { id: '1k no rules', server: base, target: '/1k.bin' },
  { id: '1k rules', server: rules, target: '/1k.bin' },
  { id: '304 no rules', server: base, target: '/1k.bin', conditional: true },
  { id: '301 rule hit', server: rules, target: redirectTarget },
];
const samples = Object.fromEntries(cells.map((c) => [c.id, []]));
const cpuSamples = Object.fromEntries(cells.map((c) => [c.id, []]));
/** A process and its descendants (httpd's primary and its worker). */
const family = (pid) => {
  const kids = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (text) kids.push(...text.split(' ').map(Number));
  }
  return [pid, ...kids.flatMap(family)];
};
/** User + system CPU seconds of a process tree so far (/proc/PID/stat fields 14 and 15, in ticks of 1/100 s). */
const cpuOf = (pid) =>
  family(pid).reduce((sum, p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + (Number(f[11]) + Number(f[12])) / 100;
  }, 0);
// Server CPU per request is less disturbed than req/s by other load on a shared machine: both are reported.
const measure = (c, seconds) => {
  const before = cpuOf(c.server.child.pid);
  const m = runWrk({ port: c.server.port, target: c.target, seconds, threads: 1, connections: 50, cpu: 1, headers: c.conditional ? [`If-None-Match: ${c.server.etag}`] : [] });
  m.cpuPerRequestUs = ((cpuOf(c.server.child.pid) - before) / (m.rps * seconds)) * 1e6;
  return m;
};
for (const c of cells) measure(c, 1); // warm-up, not recorded
for (let r = 0; r < REPS; r++) {
  for (const c of cells) {
    const m = measure(c, SECONDS);
    if (m.errors > 0 && !c.id.startsWith('301') && !c.id.startsWith('304')) console.error(`${c.id}: ${m.errors} errors`);
    samples[c.id].push(m.rps);
    cpuSamples[c.id].push(m.cpuPerRequestUs);
  }
}
for (const s of servers) await s.stop();

// Opening: openWebroot plus compiling the rules (what the registry does before a swap), interleaved.
// Wall time and this process's CPU time (the latter moves less with other load on a shared machine).
const openMs = { plain: [], ruled: [] };
const openCpuMs = { plain: [], ruled: [] };
for (let i = 0; i < 15; i++) {
  for (const [k, f] of [['plain', plain], ['ruled', ruled]]) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    const w = openWebroot(f);
    void w.compiledRules; // compiled (and checked) by openWebroot itself
    const used = process.cpuUsage(c);
    openMs[k].push(Number(process.hrtime.bigint() - t) / 1e6);
    openCpuMs[k].push((used.user + used.system) / 1000);
    w.close();
  }
}

const med = (id) => median(samples[id]);
const fmt = (x) => x.toFixed(0);
console.log(`# site rules benchmark, ${new Date().toISOString()}`);
console.log(`Node ${process.version}, ${os.cpus().length} CPUs, server pinned to CPU 0 (1 worker), wrk -t1 -c50 on CPU 1; ${REPS} interleaved repetitions of ${SECONDS} s, medians (samples in brackets). A shared machine: read the ratios.`);
console.log('');
const cpu = (id) => median(cpuSamples[id]);
const row = (name, id, peerName, peerId) =>
  console.log(
    `| ${name} | ${fmt(med(id))} [${samples[id].map(fmt).join(', ')}] | ${cpu(id).toFixed(1)} | ${peerName} | ${fmt(med(peerId))} [${samples[peerId].map(fmt).join(', ')}] | ${cpu(peerId).toFixed(1)} | ${(med(id) / med(peerId)).toFixed(2)} | ${(cpu(peerId) / cpu(id)).toFixed(2)} | >= 0.90 |`,
  );
console.log('| scenario | req/s | server CPU us/req | peer | peer req/s | peer CPU us/req | req/s ratio | CPU ratio (peer/this) | target |');
console.log('|---|---:|---:|---|---:|---:|---:|---:|---|');
row('1 KB keep-alive GET, rules site', '1k rules', 'no-rules site', '1k no rules');
row('GET hitting a 301 rule', '301 rule hit', '304, no-rules site', '304 no rules');
console.log('');
console.log(`Open + compile of the webroot (what a load or swap costs), median of 15 interleaved: ${median(openMs.ruled).toFixed(2)} ms with rules, ${median(openMs.plain).toFixed(2)} ms without: ${(median(openMs.ruled) / median(openMs.plain)).toFixed(2)}x (target <= 2x); CPU time ${median(openCpuMs.ruled).toFixed(2)} ms vs ${median(openCpuMs.plain).toFixed(2)} ms: ${(median(openCpuMs.ruled) / median(openCpuMs.plain)).toFixed(2)}x.`);
fs.rmSync(work, { recursive: true, force: true });
