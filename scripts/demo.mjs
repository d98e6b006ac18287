#!/usr/bin/env node
// `pnpm demo`: packs examples/site with mkroot, deploys it into a vhosts directory
// the way a real deploy does (symlink + rename), and serves it with httpd.
// PORT (default 8080), HOST (default 127.0.0.1: the demo is for this machine only;
// HOST=0.0.0.0 serves every interface) and any extra arguments are passed on to httpd.
// Run by `pnpm demo` through `exec`, so Ctrl-C ends it with httpd's own status (0
// after a clean drain) instead of the shell's 130 and pnpm's "Command failed".
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = path.join(root, '.demo');
const releases = path.join(demo, 'releases');
const vhosts = path.join(demo, 'vhosts');
fs.mkdirSync(releases, { recursive: true });
fs.mkdirSync(vhosts, { recursive: true });

const mkroot = path.join(root, 'packages/mkroot/bin/mkroot.js');
const httpd = path.join(root, 'packages/httpd/bin/httpd.js');
const release = path.join(releases, `example-${new Date().toISOString().replace(/[:.]/g, '-')}.webroot`);

const pack = spawnSync(process.execPath, [mkroot, path.join(root, 'examples/site'), release], { stdio: 'inherit' });
if (pack.status !== 0) process.exit(pack.status ?? 1);

// The atomic deploy: a new symlink renamed over the entry.
const tmp = path.join(vhosts, '.tmp');
fs.rmSync(tmp, { force: true });
fs.symlinkSync(path.relative(vhosts, release), tmp);
fs.renameSync(tmp, path.join(vhosts, '__default__'));

const port = process.env.PORT ?? '8080';
const host = process.env.HOST ?? '127.0.0.1';
const shown = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
console.log(`
Serving examples/site on ${shown}/  (Ctrl-C to stop${host === '127.0.0.1' ? '; HOST=0.0.0.0 pnpm demo to serve other machines too' : ''})
  curl -i ${shown}/
  curl -i -H 'Accept-Encoding: br' ${shown}/css/site.css
  curl -i ${shown}/docs        # redirects to /docs/
  curl -i ${shown}/missing     # the site's own 404 page
Deploy a new version while it runs (no restart, no failed request):
  pnpm exec mkroot examples/site .demo/releases/next.webroot
  ln -s ../releases/next.webroot .demo/vhosts/.tmp && mv -T .demo/vhosts/.tmp .demo/vhosts/__default__
`);
const child = spawn(process.execPath, [httpd, vhosts, '--port', port, '--host', host, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
