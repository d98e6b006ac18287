import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachHttpd } from './helpers/httpd.js';
import { ROOT } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const PACKAGES = ['webroot-format', 'mkroot', 'httpd'];
const version = (dir: string) => (JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as { version: string }).version;

/** The install needs the npm registry for the third-party dependencies (commander, better-sqlite3...). */
function whyNot(): string | undefined {
  if (spawnSync('npm', ['--version'], { timeout: 10_000 }).status !== 0) return 'npm is not installed';
  if (spawnSync('pnpm', ['--version'], { timeout: 10_000 }).status !== 0) return 'pnpm is not installed';
  if (spawnSync('npm', ['ping'], { timeout: 20_000, stdio: 'ignore' }).status !== 0) return 'the npm registry cannot be reached (npm ping failed)';
  return undefined;
}
const reason = whyNot();
if (reason) console.log(`skipped the install test: ${reason}`);

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) {
  const r = spawnSync(cmd, args, { cwd: options.cwd, env: options.env, encoding: 'utf8', timeout: options.timeoutMs, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('installable packages', () => {
  // better-sqlite3 compiles from source when no prebuilt binary is reachable (as here): most of the test's time.
  it.skipIf(reason !== undefined)(
    'npm pack + npm install -g --prefix into a clean prefix: mkroot and httpd on PATH, --version, build, one request',
    async () => {
      const tarballs = tmpDir('tarballs-');
      for (const p of PACKAGES) run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: path.join(ROOT, 'packages', p), timeoutMs: 60_000 });
      const files = fs.readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).sort();
      expect(files).toEqual([`webroot-format-${version('webroot-format')}.tgz`, `webroot-httpd-${version('httpd')}.tgz`, `webroot-mkroot-${version('mkroot')}.tgz`]);
      // pnpm pack turns workspace:* into the real version: an npm install could not resolve it otherwise.
      for (const f of files) {
        const manifest = run('tar', ['-xOzf', path.join(tarballs, f), 'package/package.json'], { timeoutMs: 10_000 });
        expect(manifest).not.toContain('workspace:');
        if (!f.startsWith('webroot-format')) expect(JSON.parse(manifest).dependencies['@webroot/format']).toBe(version('webroot-format'));
      }

      const prefix = tmpDir('prefix-');
      const env: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
      // better-sqlite3 builds with node-gyp: use the installed Node headers instead of downloading them.
      if (fs.existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
      // The suite's one concession to time: the native module compiles without optimisation (sqlite3.c at -O3 is
      // ~100 s of CPU here, at -O0 ~27 s). Same packages, same npm and node-gyp path; only the compiler's -O differs.
      env.CFLAGS = '-O0';
      env.CXXFLAGS = '-O0';
      env.npm_config_jobs = 'max';
      run('npm', ['install', '-g', '--prefix', prefix, ...files.map((f) => path.join(tarballs, f))], { cwd: tarballs, env, timeoutMs: 480_000 });

      const bin = path.join(prefix, 'bin');
      const onPath = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
      expect(run('mkroot', ['--version'], { env: onPath, timeoutMs: 15_000 })).toBe(`${version('mkroot')}\n`);
      expect(run('httpd', ['--version'], { env: onPath, timeoutMs: 15_000 })).toBe(`${version('httpd')}\n`);
      // The commands resolve to the installed copies, not the workspace's.
      expect(fs.realpathSync(path.join(bin, 'httpd')).startsWith(fs.realpathSync(prefix))).toBe(true);

      const src = writeTree(tmpDir('site-'), { 'index.html': '<p>installed</p>\n' });
      const out = path.join(tmpDir('webroots-'), 'site.webroot');
      run('mkroot', ['build', '-q', src, out], { env: onPath, timeoutMs: 30_000 });
      const vhosts = tmpDir('vhosts-');
      fs.symlinkSync(out, path.join(vhosts, '__default__'));
      const srv = await attachHttpd(spawn('httpd', [vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '1'], { env: onPath, stdio: ['ignore', 'pipe', 'pipe'] }));
      try {
        const r = await raw(srv.port, 'GET', '/');
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe('<p>installed</p>\n');
      } finally {
        await srv.stop();
      }
    },
    600_000,
  );
});
