#!/usr/bin/env node
// How many disk reads one on-demand lookup costs (issue 15's 1M rotation), in one process:
// random paths of a large bench site, the file's page cache dropped first, then per lookup the
// read syscalls made (/proc/self/io syscr), the bytes fetched from the disk (read_bytes) and the
// time; then the same for reading each body, and the warm cost (page cache filled, entry cache empty).
//   node bench/lookup-pages.mjs [--file WEBROOT] [--paths PATHS] [--count 2000] [--warmup 2000] [--mode sync|async]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openWebroot } from '@webroot/format';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const cache = process.env.WEBROOT_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'webroot-bench');
const FILE = opt('--file', path.join(cache, 'large-1000000.webroot'));
const PATHS = opt('--paths', path.join(cache, 'tree-1000000.paths'));
const COUNT = Number(opt('--count', 2000));
const WARMUP = Number(opt('--warmup', 2000));

const io = () => {
  const t = fs.readFileSync('/proc/self/io', 'utf8');
  return { syscr: Number(/syscr: (\d+)/.exec(t)[1]), disk: Number(/read_bytes: (\d+)/.exec(t)[1]) };
};
// What reading /proc/self/io itself adds to syscr.
const base = io();
const probe = io().syscr - base.syscr;
/** Drops FILE from the page cache (posix_fadvise DONTNEED on the whole file; GNU dd's documented idiom). */
const dropCache = () => {
  const r = spawnSync('dd', [`if=${FILE}`, 'iflag=nocache', 'count=0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dd: ${r.stderr}`);
};
const fincore = () => spawnSync('fincore', ['-n', '-o', 'RES', FILE], { encoding: 'utf8' }).stdout.trim();

const all = fs.readFileSync(PATHS, 'utf8').split('\n').filter(Boolean);
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
const pick = (n) => Array.from({ length: n }, () => all[Math.floor(rand() * all.length)]);

function measure(label, n, fn) {
  const a = io();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  const b = io();
  const row = { label, n, usEach: us / n, readsEach: (b.syscr - a.syscr - probe) / n, diskKiBEach: (b.disk - a.disk) / 1024 / n };
  console.log(`| ${label} | ${n} | ${row.usEach.toFixed(1)} | ${row.readsEach.toFixed(2)} | ${row.diskKiBEach.toFixed(2)} |`);
  return row;
}

console.log(`# lookup-pages ${new Date().toISOString()}: ${FILE} (${(fs.statSync(FILE).size / 2 ** 20).toFixed(0)} MiB; in page cache before: ${fincore()})`);
console.log();
console.log('| phase | n | us each | read syscalls each | KiB from disk each |');
console.log('|---|---:|---:|---:|---:|');
const w = openWebroot(FILE);
// Warm-up: SQLite's own cache fills with the index's interior pages, as in a server that has run a while.
const warm = pick(WARMUP);
measure('warm-up lookups (cold page cache)', warm.length, (i) => w.lookup(warm[i]));
dropCache();
const cold = pick(COUNT);
const entries = [];
measure('lookup, page cache cold', cold.length, (i) => entries.push(w.lookup(cold[i])));
measure('body read (readSync), cold', entries.length, (i) => w.readObjectSync(entries[i].object));
w.close();
// Warm: the same paths again through a new reader (its entry cache empty, the page cache now holding their pages).
const w2 = openWebroot(FILE);
measure('lookup, page cache warm, reader cache empty', cold.length, (i) => w2.lookup(cold[i]));
measure('lookup again (entry cache hit)', cold.length, (i) => w2.lookup(cold[i]));
const e2 = cold.map((p) => w2.lookup(p));
measure('body read, warm', e2.length, (i) => w2.readObjectSync(e2[i].object));
w2.close();
console.log();
console.log(`in page cache after: ${fincore()}`);
