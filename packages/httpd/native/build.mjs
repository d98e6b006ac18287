#!/usr/bin/env node
// Builds the sendfile(2) addon (sendfile.c) with node-gyp, from the installed Node headers: it never
// downloads anything. Run by the workspace's `pnpm build` (pnpm does not run node-gyp for a workspace
// package by itself). The addon is optional: when it cannot be built, this says why and exits 0, and
// httpd serves through its portable path (the `listening` log line then says `sendfile: false`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const output = path.join(here, 'build', 'Release', 'webroot_sendfile.node');
const sources = ['sendfile.c', 'binding.gyp'].map((f) => path.join(here, f));

function say(message) {
  console.error(`sendfile addon: ${message}`);
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function findNodeGyp() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'lib', 'node_modules', 'pnpm', 'dist', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c !== undefined && c !== '' && fs.existsSync(c));
}

/** The installed headers (Debian's nodejs puts them in /usr/include/node): node-gyp would otherwise download them. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function main() {
  if (process.platform !== 'linux') return say(`not built: sendfile(2) as used here is Linux's (this is ${process.platform})`);
  const built = mtime(output);
  if (built >= 0 && sources.every((s) => mtime(s) <= built)) return; // up to date
  const gyp = findNodeGyp();
  if (gyp === undefined) return say('not built: node-gyp was not found (it comes with npm); httpd will use its portable path');
  const dir = nodeDir();
  if (dir === undefined) return say('not built: no Node headers installed (node_api.h) and nothing may be downloaded; httpd will use its portable path');
  const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', here, `--nodedir=${dir}`], { encoding: 'utf8', env: { ...process.env, npm_config_nodedir: dir } });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    return say(`not built (node-gyp failed; httpd will use its portable path):\n${tail}`);
  }
  say(`built ${path.relative(process.cwd(), output)}`);
}

main();
