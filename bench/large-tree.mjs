// A generated site of N small files (100 B to 4 KiB) in 1,000 directories, for the
// large-site scenarios. Made once and cached outside the repository (the tree, its
// path list and its packed webroot), since writing a million files takes minutes.
// Usage as a script: node bench/large-tree.mjs N [DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LARGE_CACHE = process.env.WEBROOT_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'webroot-bench');
export const DIRECTORIES = 1000;

/** Deterministic size of file i: 100 B to 4 KiB. */
const sizeOf = (i) => 100 + ((i * 2654435761) >>> 0) % (4096 - 100 + 1);

/** Site path of file i (no leading slash). */
export const largePath = (i) => `d${String(i % DIRECTORIES).padStart(3, '0')}/f${String(i).padStart(7, '0')}.txt`;

/** Makes (or reuses) the tree of `count` files; returns its directory and path list file. */
export function ensureLargeTree(count, dir = path.join(LARGE_CACHE, `tree-${count}`)) {
  const done = path.join(dir, '.complete');
  const pathsFile = `${dir}.paths`;
  if (fs.existsSync(done) && fs.existsSync(pathsFile)) return { dir, pathsFile };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (let d = 0; d < Math.min(DIRECTORIES, count); d++) fs.mkdirSync(path.join(dir, `d${String(d).padStart(3, '0')}`));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>large</title><p>A generated large site.</p>\n');
  const filler = Buffer.alloc(4096, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
  const paths = fs.openSync(`${pathsFile}.tmp`, 'w');
  let batch = [];
  for (let i = 0; i < count; i++) {
    const p = largePath(i);
    // The path first, so no two files share bytes (no deduplication hides the count).
    const body = Buffer.concat([Buffer.from(`${p}\n`), filler]).subarray(0, sizeOf(i));
    fs.writeFileSync(path.join(dir, p), body);
    batch.push(`/${p}`);
    if (batch.length === 10000 || i === count - 1) {
      fs.writeSync(paths, `${batch.join('\n')}\n`);
      batch = [];
    }
  }
  fs.closeSync(paths);
  fs.renameSync(`${pathsFile}.tmp`, pathsFile);
  fs.writeFileSync(done, '');
  return { dir, pathsFile };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2]);
  if (!Number.isSafeInteger(n) || n < 1) {
    console.error('usage: node bench/large-tree.mjs N [DIR]');
    process.exit(2);
  }
  const t = Date.now();
  console.log(ensureLargeTree(n, process.argv[3]), `${((Date.now() - t) / 1000).toFixed(1)} s`);
}
