#!/usr/bin/env node
// Worker memory over a random rotation of the 1M-file site (issue 15), per variant of the
// server's memory settings: worker RSS after the open and after SECONDS of wrk (single-core,
// as bench/large.mjs: httpd on CPU 0, wrk -t1 -c50 on CPU 1, a random path per request).
//   node bench/soak-memory.mjs [--seconds 30] [--variants default,cache8m,...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LARGE_CACHE, ensureLargeTree } from './large-tree.mjs';
import { freePort, has, runWrk, startServer } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HTTPD = path.join(here, '..', 'packages/httpd/bin/httpd.js');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const SECONDS = Number(opt('--seconds', 30));
const FILE = opt('--webroot', path.join(LARGE_CACHE, 'large-1000000.webroot'));
const VARIANTS = {
  default: { args: [], env: {} },
  cache8m: { args: ['--cache-size', '8M'], env: {} },
  nocache: { args: ['--cache-size', '0'], env: {} },
  arena2: { args: [], env: { MALLOC_ARENA_MAX: '2' } },
};
const chosen = opt('--variants', Object.keys(VARIANTS).join(',')).split(',');
const pin = has('taskset');
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const { pathsFile } = ensureLargeTree(1_000_000);

console.log(`| variant | RSS after open | after ${SECONDS} s rotation | req/s | errors |`);
console.log('|---|---:|---:|---:|---:|');
for (const name of chosen) {
  const v = VARIANTS[name];
  const vhosts = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-vhosts-'));
  fs.symlinkSync(FILE, path.join(vhosts, '__default__'));
  const port = await freePort();
  const args = [HTTPD, vhosts, '--io', 'sync', '--workers', '1', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'info', ...v.args];
  const s = await startServer('webroot', pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, ...args] : args, port, { env: { ...process.env, ...v.env } });
  let loaded;
  for (let i = 0; i < 400 && !loaded; i++) {
    loaded = s.output().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((e) => e.event === 'vhost-loaded');
    if (!loaded) await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300));
  const before = rss(loaded.pid);
  const r = runWrk({ port, target: '/', seconds: SECONDS, threads: 1, connections: 50, script: path.join(here, 'rotate-random.lua'), scriptArgs: [pathsFile], cpu: pin ? 1 : undefined });
  const after = rss(loaded.pid);
  console.log(`| ${name} | ${mib(before)} | ${mib(after)} | ${r.rps.toFixed(0)} | ${r.errors} |`);
  await s.stop();
  fs.rmSync(vhosts, { recursive: true, force: true });
}
