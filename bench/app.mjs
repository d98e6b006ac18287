#!/usr/bin/env node
// `pnpm bench:app`: the programmatic forms of issue 14 against their peers, single-core
// (each server pinned to CPU 0 in one process, wrk on CPU 1), interleaved, in one run:
//   express + serveWebroot  vs express + serve-static      (1 KB file, 10,000-file rotation)
//   fastify + webrootPlugin vs fastify + @fastify/static   (same)
//   httpd --route (13-byte text) vs bare node:http doing the same
// The express and fastify pairs also run the framework answering a fixed 1 KiB body from memory (no file work):
// the ceiling any middleware in it can reach, reported as "ceiling / peer".
// Options: --reps N (3) --seconds S (2)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWebroot } from '@webroot/format';
import { packDirectory } from '@webroot/mkroot';
import { ensureCorpus, freePort, has, median, runWrk, startServer } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const REPS = Number(opt('--reps', 3));
const SECONDS = Number(opt('--seconds', 2));
const CORPUS = path.join(here, '.corpus');
const HTTPD = path.join(root, 'packages/httpd/bin/httpd.js');
const PEER = path.join(here, 'peers/app-peer.mjs');
const log = (...a) => console.error(...a);

if (!has('wrk')) {
  console.error('bench/app.mjs needs wrk (apt-get install wrk)');
  process.exit(2);
}
const pin = has('taskset');

const dir = path.join(CORPUS, 'http');
ensureCorpus(dir);
const webroot = path.join(CORPUS, 'http.webroot');
let fresh = fs.existsSync(webroot) && fs.statSync(webroot).mtimeMs >= fs.statSync(path.join(dir, '.complete')).mtimeMs;
if (fresh) {
  try {
    openWebroot(webroot).close();
  } catch {
    fresh = false;
  }
}
if (!fresh) {
  log('packing the corpus');
  await packDirectory(dir, webroot, { compress: false });
}
const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-app-vhosts-'));
fs.symlinkSync(webroot, path.join(vhosts, '__default__'));
const rotate = path.join(here, 'rotate.lua');
const manyPaths = path.join(dir, 'many.paths');

const cmd = (args) => (pin ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args]);
const groups = [
  {
    title: 'express 5',
    ours: { name: 'express+serveWebroot', make: (port) => cmd([PEER, 'express-webroot', webroot, String(port)]) },
    peer: { name: 'express+serve-static', make: (port) => cmd([PEER, 'express-serve-static', dir, String(port)]) },
    ceiling: { name: 'express, fixed 1 KiB', make: (port) => cmd([PEER, 'express-bare', '-', String(port)]) },
    scenarios: ['1k', 'many'],
  },
  {
    title: 'fastify 5',
    ours: { name: 'fastify+webrootPlugin', make: (port) => cmd([PEER, 'fastify-webroot', webroot, String(port)]) },
    peer: { name: 'fastify+@fastify/static', make: (port) => cmd([PEER, 'fastify-static', dir, String(port)]) },
    ceiling: { name: 'fastify, fixed 1 KiB', make: (port) => cmd([PEER, 'fastify-bare', '-', String(port)]) },
    scenarios: ['1k', 'many'],
  },
  {
    title: 'dynamic route, 13-byte text',
    ours: { name: 'httpd --route', make: (port) => cmd([HTTPD, vhosts, '--workers', '0', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--route', `/hello=${path.join(here, 'routes/hello.mjs')}`]) },
    peer: { name: 'node:http', make: (port) => cmd([PEER, 'node-text', '-', String(port)]) },
    scenarios: ['hello'],
  },
];
const SCENARIOS = {
  '1k': { target: '/1k.bin' },
  many: { target: '/many/00000.bin', script: rotate, scriptArgs: [manyPaths] },
  hello: { target: '/hello' },
};

/** CPU seconds (user + system, every thread) a process has used, from /proc (Linux). */
const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
};

/**
 * One wrk run; also the server's CPU time per request. On a machine shared with
 * other work, req/s favours servers with more threads (serve-static and
 * @fastify/static read files on libuv's thread pool: the scheduler gives each
 * thread its share), so CPU per request is the fairer comparison there.
 */
const load = (server, id, seconds) => {
  const sc = SCENARIOS[id];
  const before = cpuSeconds(server.child.pid);
  const r = runWrk({ port: server.port, target: sc.target, seconds, threads: 1, connections: 50, script: sc.script, scriptArgs: sc.scriptArgs ?? [], cpu: pin ? 1 : undefined });
  const requests = Number(/(\d+) requests in/.exec(r.raw)?.[1] ?? NaN);
  return { ...r, cpuUs: ((cpuSeconds(server.child.pid) - before) * 1e6) / requests };
};

const lines = [`# issue 14 benchmark, ${new Date().toISOString()}`, '', `Command: \`node bench/app.mjs ${argv.join(' ')}\`. Node ${process.version}, ${os.cpus().length} CPUs. Single-core: servers ${pin ? 'pinned to CPU 0' : 'NOT pinned (no taskset)'}, one process each; wrk -t1 -c50${pin ? ' on CPU 1' : ''}. ${REPS} interleaved repetitions of ${SECONDS} s after a 1 s warm-up; medians (min-max).`, ''];
lines.push('| pair | scenario | ours req/s | peer req/s | ours / peer | ours us CPU/req | peer us CPU/req | peer CPU / ours | ceiling / peer (req/s, CPU) |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const g of groups) {
  const servers = [];
  for (const d of [g.ours, g.peer, ...(g.ceiling ? [g.ceiling] : [])]) {
    const port = await freePort();
    const [c, a] = d.make(port);
    log(`starting ${d.name} on ${port}`);
    servers.push({ ...(await startServer(d.name, c, a, port)), label: d.name });
  }
  const res = {};
  const cpu = {};
  try {
    for (const s of servers) for (const id of g.scenarios) load(s, id, 1);
    for (let rep = 0; rep < REPS; rep++) {
      for (const id of g.scenarios) {
        for (const s of servers) {
          const r = load(s, id, SECONDS);
          if (r.errors > 0) log(`  ${s.label} ${id}: ${r.errors} errors`);
          ((res[s.label] ??= {})[id] ??= []).push(r.rps);
          ((cpu[s.label] ??= {})[id] ??= []).push(r.cpuUs);
          log(`  [rep ${rep + 1}/${REPS}] ${id.padEnd(6)} ${s.label.padEnd(24)} ${r.rps.toFixed(0).padStart(7)} req/s ${r.cpuUs.toFixed(0).padStart(5)} us CPU/request`);
        }
      }
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  const cell = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
  for (const id of g.scenarios) {
    const a = res[g.ours.name][id];
    const b = res[g.peer.name][id];
    const ca = cpu[g.ours.name][id];
    const cb = cpu[g.peer.name][id];
    const ceiling = g.ceiling ? `${(median(res[g.ceiling.name][id]) / median(b)).toFixed(2)}x, ${(median(cb) / median(cpu[g.ceiling.name][id])).toFixed(2)}x` : '';
    lines.push(`| ${g.ours.name} / ${g.peer.name} | ${id} | ${cell(a)} | ${cell(b)} | ${(median(a) / median(b)).toFixed(2)}x | ${median(ca).toFixed(0)} | ${median(cb).toFixed(0)} | ${(median(cb) / median(ca)).toFixed(2)}x | ${ceiling} |`);
  }
}
fs.rmSync(vhosts, { recursive: true, force: true });
console.log(lines.join('\n'));
