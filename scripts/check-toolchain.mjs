#!/usr/bin/env node
// Run by `pnpm install` before any dependency is installed (pnpm:devPreinstall): fail
// at once with what to install, instead of node-gyp's page of errors halfway through.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkToolchain } from './toolchain.mjs';

/** Whether `command` is an executable on PATH (no shell needed: a bare machine may lack one). */
const has = (command) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', command), fs.constants.X_OK);
      return fs.statSync(path.join(dir || '.', command)).isFile();
    } catch {
      return false;
    }
  });

/** better-sqlite3's addon in this checkout's node_modules, if an earlier install built it. */
function addonBuilt() {
  const store = path.join(process.cwd(), 'node_modules', '.pnpm');
  try {
    return fs.readdirSync(store).some((d) => d.startsWith('better-sqlite3@') && fs.existsSync(path.join(store, d, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')));
  } catch {
    return false;
  }
}

const result = checkToolchain({
  platform: process.platform,
  env: process.env,
  has,
  exists: (f) => fs.existsSync(f),
  addonBuilt: addonBuilt(),
  nodeVersion: process.versions.node,
  home: os.homedir(),
});
if (!result.ok) {
  process.stderr.write(result.message);
  process.exit(1);
}
for (const note of result.notes) process.stderr.write(`webroot: note: ${note}\n`);
