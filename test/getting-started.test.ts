import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTPD_BIN, ROOT } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { tmpDir } from './helpers/tmp.js';
import { checkToolchain } from '../scripts/toolchain.mjs';

// What a new user meets after the quick start (issue 9, "rough edges"), through the
// real commands: the README's deploy recipe, `pnpm demo`, the install's toolchain
// check, `httpd --help`.

const pnpmPath = spawnSync('sh', ['-c', 'command -v pnpm'], { encoding: 'utf8' }).stdout.trim();
const noPnpm = pnpmPath === '' ? 'pnpm is not on PATH' : undefined;
if (noPnpm) console.log(`getting-started.test.ts: skipping the README recipe, pnpm demo and install tests: ${noPnpm}`);

/** Starts `bash -c SCRIPT` in its own process group (as a terminal job) and collects its output. */
function startJob(script: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn('bash', ['-c', script], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  // 'close', not 'exit': the job's output is whole only once every process writing to it (httpd's primary and
  // workers, behind pnpm exec) has exited, and pnpm may exit on Ctrl-C before httpd has finished draining.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return {
    child,
    output: () => output,
    exited,
    /** Waits (bounded) for the httpd `listening` log line; returns its fields. */
    async listening(ms = 30_000): Promise<Record<string, unknown>> {
      const deadline = performance.now() + ms;
      while (performance.now() < deadline) {
        const line = output.split('\n').find((l) => l.includes('"event":"listening"'));
        if (line) return JSON.parse(line) as Record<string, unknown>;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no listening line; output:\n${output}`);
    },
    /** Signals the whole group, as Ctrl-C in a terminal does, and waits (bounded) for the exit. */
    async signal(sig: NodeJS.Signals): Promise<number | null> {
      killGroup(child, sig);
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}

describe('the README deploy recipe runs as written after the quick start', () => {
  it.skipIf(noPnpm)('pnpm exec mkroot, the atomic link, pnpm exec httpd: the site answers for its host', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Deploying'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const lines = block.trim().split('\n');
    expect(lines[0]).toMatch(/^D=\/tmp\/webroot-deploy;/);
    expect(lines.at(-1)).toMatch(/^pnpm exec httpd \$D\/vhosts --host 127\.0\.0\.1 --port 8080 /);
    const dir = tmpDir('deploy-');
    // The recipe as printed, with two edits a test needs: its own directory, and a free port.
    const setup = [lines[0]!.replace('/tmp/webroot-deploy', dir), ...lines.slice(1, -1)].join('\n');
    const r = spawnSync('bash', ['-euc', setup], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readlinkSync(path.join(dir, 'vhosts/example.com'))).toBe('../releases/site-v42.webroot');
    const serve = startJob(`D='${dir}'\n${lines.at(-1)!.replace('--port 8080', '--port 0 --workers 1')}`);
    try {
      const { port } = await serve.listening();
      const res = await raw(port as number, 'GET', '/', {}, 'example.com');
      expect(res.status).toBe(200);
      expect(res.body.equals(fs.readFileSync(path.join(ROOT, 'examples/site/index.html')))).toBe(true);
    } finally {
      await serve.signal('SIGINT'); // Ctrl-C, as the user would stop it
    }
    expect(serve.output()).toContain('"event":"stopped"'); // httpd drained
  });
});

describe('pnpm demo', () => {
  it.skipIf(noPnpm)('listens on 127.0.0.1 only, and Ctrl-C drains and exits 0 without "Command failed"', async () => {
    const demo = startJob('pnpm demo --workers 1', { PORT: '0' });
    let code: number | null = null;
    try {
      const listening = await demo.listening(60_000);
      expect(listening.url).toBe(`http://127.0.0.1:${listening.port}/`);
      expect(demo.output()).toContain('Serving examples/site on http://127.0.0.1:0/');
      expect((await raw(listening.port as number, 'GET', '/')).status).toBe(200);
    } finally {
      code = await demo.signal('SIGINT');
    }
    expect(demo.output()).toContain('"event":"stopped"');
    expect(demo.output()).not.toContain('ELIFECYCLE');
    expect(code).toBe(0);
  });
});

describe('pnpm install checks the C++ toolchain better-sqlite3 compiles with', () => {
  it.skipIf(noPnpm)('without python3, make and a compiler it fails at once, saying what to install', () => {
    // A project with the root's install hook, on a PATH holding only sh, node and pnpm.
    const project = tmpDir('install-');
    const rootScripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(rootScripts['pnpm:devPreinstall']).toBe('node scripts/check-toolchain.mjs');
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'probe', private: true, scripts: { 'pnpm:devPreinstall': rootScripts['pnpm:devPreinstall'] } }));
    fs.mkdirSync(path.join(project, 'scripts'));
    for (const f of ['check-toolchain.mjs', 'toolchain.mjs']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(project, 'scripts', f));
    const bin = tmpDir('bin-');
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync(fs.realpathSync(pnpmPath), path.join(bin, 'pnpm'));
    fs.symlinkSync(fs.realpathSync('/bin/sh'), path.join(bin, 'sh'));
    const env = { PATH: bin, HOME: project };
    const bare = spawnSync('pnpm', ['install', '--offline'], { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
    const out = bare.stdout + bare.stderr;
    expect(bare.status).not.toBe(0);
    expect(out).toContain('webroot: cannot install: the SQLite binding (better-sqlite3) compiles a C++ addon during install, and this machine lacks: Python 3 (python3), make, a C++ compiler (g++ or clang++).');
    expect(out).toContain('apt-get install -y python3 make g++');
    // The same project on this machine's PATH (which has the toolchain) installs.
    const full = spawnSync('pnpm', ['install', '--offline'], { cwd: project, env: { ...process.env, HOME: project }, encoding: 'utf8', timeout: 60_000 });
    expect(full.stdout + full.stderr).not.toContain('cannot install');
    expect(full.status).toBe(0);
  });
});

describe('httpd --help', () => {
  it('lets commander wrap the description: no line break mid-sentence, no line over 80 columns', async () => {
    const r = await runNode(HTTPD_BIN, ['--help'], { timeoutMs: 15_000 });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    const start = lines.findIndex((l) => l.startsWith('Serve every webroot'));
    expect(start).toBeGreaterThan(0);
    const paragraph = lines.slice(start, lines.indexOf('', start));
    expect(paragraph.join(' ')).toBe(
      'Serve every webroot in VHOSTS_DIR: each entry (a webroot file or a symlink to one) is a site named after its host; __default__ serves hosts with no entry. Swap an entry (mv -T) to deploy: new requests move to the new file at once, running ones finish on the old one.',
    );
    // Filled greedily: the next line's first word would not have fitted on each line.
    for (let i = 0; i + 1 < paragraph.length; i++) expect(paragraph[i]!.length + 1 + paragraph[i + 1]!.split(' ')[0]!.length).toBeGreaterThan(80);
  });
});

describe('checkToolchain decides from a probe of the machine', () => {
  type Probe = { env?: Record<string, string>; has?: string[]; files?: string[]; addonBuilt?: boolean; platform?: string };
  const run = (p: Probe) =>
    checkToolchain({
      platform: p.platform ?? 'linux',
      env: p.env ?? {},
      has: (c: string) => (p.has ?? []).includes(c),
      exists: (f: string) => (p.files ?? []).includes(f),
      addonBuilt: p.addonBuilt ?? false,
      nodeVersion: '20.20.2',
      home: '/home/u',
    });
  const ALL = ['python3', 'make', 'g++'];
  const HEADERS = '/home/u/.cache/node-gyp/20.20.2/include/node/node.h';
  it.each([
    ['everything present', { has: ALL, files: [HEADERS] }, true, [], 0],
    ['clang++ instead of g++, python instead of python3', { has: ['python', 'make', 'clang++'], files: [HEADERS] }, true, [], 0],
    ['no compiler', { has: ['python3', 'make'], files: [HEADERS] }, false, ['a C++ compiler (g++ or clang++)'], 0],
    ['CXX names a missing compiler', { has: ALL, env: { CXX: 'g++-14' }, files: [HEADERS] }, false, ['a C++ compiler (g++ or clang++)'], 0],
    ['nothing at all', {}, false, ['Python 3 (python3)', 'make', 'a C++ compiler (g++ or clang++)'], 1],
    ['npm_config_nodedir without headers', { has: ALL, env: { npm_config_nodedir: '/opt/node' } }, false, ["Node's headers at npm_config_nodedir=/opt/node (no /opt/node/include/node/node.h)"], 0],
    ['npm_config_nodedir with headers', { has: ALL, env: { npm_config_nodedir: '/usr' }, files: ['/usr/include/node/node.h'] }, true, [], 0],
    ['headers neither cached nor pointed at: a note, not a failure', { has: ALL, files: ['/usr/include/node/node.h'] }, true, [], 1],
    ['already built: nothing to compile', { addonBuilt: true }, true, [], 0],
    ['skipped on request', { env: { WEBROOT_SKIP_TOOLCHAIN_CHECK: '1' } }, true, [], 0],
  ] as [string, Probe, boolean, string[], number][])('%s', (_name, probe, ok, missing, notes) => {
    const r = run(probe);
    expect(r.ok).toBe(ok);
    expect(r.missing).toEqual(missing);
    expect(r.notes).toHaveLength(notes);
  });
});
