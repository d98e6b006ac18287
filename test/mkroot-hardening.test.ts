import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

// Regressions for the mkroot findings of issue 9, through the real CLI.
const mkroot = (args: string[], opts: Parameters<typeof runNode>[2] = {}) => runNode(MKROOT_BIN, args, opts);

describe('mkroot verify passes on valid webroots with an empty file (issue 9 item 3)', () => {
  it('the issue reproducer: an empty file beside a file with br and gzip variants', async () => {
    const src = writeTree(tmpDir(), { 'a.html': `${'hello world '.repeat(200)}\n`, 'b.txt': '' });
    const out = path.join(tmpDir(), 't.webroot');
    expect((await mkroot([src, out, '-q'])).code).toBe(0);
    const r = await mkroot(['verify', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: OK \(4 objects, /);
  });
});

describe('a closed pipe ends mkroot quietly with status 0', () => {
  it('mkroot ls FILE | head -1 (a listing larger than the pipe buffer)', async () => {
    const files = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`dir/a-long-file-name-to-fill-the-pipe-${i}.txt`, `file ${i}\n`]));
    const out = path.join(tmpDir(), 'many.webroot');
    expect((await mkroot([writeTree(tmpDir(), files), out, '-q', '--no-compress'])).code).toBe(0);
    const errFile = path.join(tmpDir(), 'stderr');
    const r = spawnSync('bash', ['-c', `'${process.execPath}' '${MKROOT_BIN}' ls '${out}' 2>'${errFile}' | head -1; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toMatch(/^d +\/\nstatus=0\n$/);
    expect(fs.readFileSync(errFile, 'utf8')).toBe(''); // no EPIPE stack trace
  });

  it('mkroot cat FILE /big.bin | head -c 10', async () => {
    const big = noise(4 * 1024 * 1024, 3);
    const out = path.join(tmpDir(), 'big.webroot');
    expect((await mkroot([writeTree(tmpDir(), { 'big.bin': big }), out, '-q'])).code).toBe(0);
    const errFile = path.join(tmpDir(), 'stderr');
    const r = spawnSync('bash', ['-c', `'${process.execPath}' '${MKROOT_BIN}' cat '${out}' /big.bin 2>'${errFile}' | head -c 10 | od -An -tx1; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.replace(/\s+/g, ' ').trim()).toBe(`${[...big.subarray(0, 10)].map((b) => b.toString(16).padStart(2, '0')).join(' ')} status=0`);
    expect(fs.readFileSync(errFile, 'utf8')).toBe(''); // not "internal error: write EPIPE"
  });
});

describe('mkroot OUT checks', () => {
  it('OUT that is an existing directory is one clear error before anything is packed', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'hi', 'big.bin': noise(2 * 1024 * 1024) });
    const outDir = tmpDir('out-dir-');
    const r = await mkroot([src, outDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`mkroot: ${outDir}: is a directory; give the webroot file to write, e.g. ${path.join(outDir, 'site.webroot')}\n`);
    expect(fs.readdirSync(outDir)).toEqual([]); // no temporary file was even started
  });

  it('OUT inside SRC_DIR is left out of the next build with a warning, whichever way the paths are spelled', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'home' });
    const out = path.join(src, 'site.webroot');
    const first = await mkroot([src, out, '-q']);
    expect(first.stderr).toBe('');
    // The second build finds the first one's output in the tree; given relative to another cwd too.
    const second = await mkroot(['.', 'site.webroot', '-q'], { cwd: src });
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('mkroot: warning: skipped site.webroot: it is the output file (OUT is inside SRC_DIR); an earlier build is never packed into the next\n');
    const listed = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string }[];
    expect(listed.map((e) => e.path)).toEqual(['/', '/index.html']);
    // Another webroot in the tree is ordinary content: only the output itself is left out.
    fs.copyFileSync(out, path.join(src, 'other.webroot'));
    await mkroot([src, out, '-q']);
    const again = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string }[];
    expect(again.map((e) => e.path)).toEqual(['/', '/index.html', '/other.webroot']);
  });
});

describe('a mistyped subcommand suggests the nearest command', () => {
  it.each([
    [['biuld', 'site', 'out.webroot'], 'build'],
    [['lss', 'site.webroot'], 'ls'],
    [['verfy', 'site.webroot'], 'verify'],
    [['hlep'], 'help'],
  ])('mkroot %j suggests %s', async (args, nearest) => {
    const r = await mkroot(args, { cwd: tmpDir() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`mkroot: unknown command '${args[0]}' (and no directory of that name); did you mean 'mkroot ${nearest}'? (run mkroot --help for usage)\n`);
  });

  it('mkroot help is commander\'s own command, not a typo', async () => {
    const r = await mkroot(['help'], { cwd: tmpDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mkroot \[options\] \[command\]/);
    expect(r.stderr).toBe('');
  });

  it('a word close to no command is still taken as SRC_DIR, and an existing directory named like a typo is packed', async () => {
    const cwd = tmpDir();
    const r = await mkroot(['public', 'out.webroot'], { cwd });
    expect(r.stderr).toMatch(/^mkroot: public: no such directory/);
    writeTree(path.join(cwd, 'lss'), { 'index.html': 'a directory really called lss' });
    const packed = await mkroot(['lss', 'out.webroot', '-q'], { cwd });
    expect(packed.code).toBe(0);
    expect(fs.existsSync(path.join(cwd, 'out.webroot'))).toBe(true);
  });
});

describe('mkroot ls escapes control characters in names; --json keeps them exact', () => {
  it('CR, LF, ESC and backslash in file names', async () => {
    const names = ['a\nb.txt', 'fake\r\nline.txt', 'esc\x1b[31m.txt', 'back\\slash.txt'];
    const src = tmpDir();
    for (const n of names) fs.writeFileSync(path.join(src, n), 'x');
    const out = path.join(tmpDir(), 'names.webroot');
    expect((await mkroot([src, out, '-q'])).code).toBe(0);
    const text = (await mkroot(['ls', out])).stdout;
    expect(text.split('\n').filter(Boolean)).toHaveLength(1 + names.length); // one line per entry
    expect(text).toContain('/a\\nb.txt\n');
    expect(text).toContain('/fake\\r\\nline.txt\n');
    expect(text).toContain('/esc\\x1b[31m.txt\n');
    expect(text).toContain('/back\\\\slash.txt\n');
    expect(text).not.toMatch(/[\r\x1b]/);
    const json = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string }[];
    expect(json.map((e) => e.path).sort()).toEqual(['/', ...names.map((n) => `/${n}`)].sort());
  });
});
