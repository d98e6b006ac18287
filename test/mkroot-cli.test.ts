import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_SITE, MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

const mkroot = (args: string[], opts: Parameters<typeof runNode>[2] = {}) => runNode(MKROOT_BIN, args, opts);

/** Asserts a failed pack: exit 1, one error line naming `mention`, and nothing left in `outDir`. */
async function expectPackFailure(src: string, mention: string | RegExp, extra: string[] = []) {
  const outDir = tmpDir('mkroot-out-');
  const r = await mkroot([src, path.join(outDir, 'out.webroot'), ...extra]);
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^mkroot: /);
  expect(lines[0]).toMatch(mention);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(fs.readdirSync(outDir)).toEqual([]); // no output, no temporary files
  return r;
}

describe('mkroot build', () => {
  it('packs the example site; the classic form and `build` give the same file; the summary says what happened', async () => {
    const dir = tmpDir();
    const a = path.join(dir, 'a.webroot');
    const b = path.join(dir, 'b.webroot');
    const r1 = await mkroot([EXAMPLE_SITE, a]);
    const r2 = await mkroot(['build', EXAMPLE_SITE, b]);
    expect(r1.code).toBe(0);
    expect(r2.code).toBe(0);
    expect(r1.stdout).toMatch(/^mkroot: .*a\.webroot: \d+ files \(.+\) in \d+ directories, \d+ deduplicated, \d+ precompressed saving .+, .+ written in [\d.]+ s\n$/);
    expect(r1.stderr).toBe(''); // not a terminal: no progress output
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
  });

  it('is deterministic: packing the same tree twice gives byte-identical files (compression on)', async () => {
    const src = writeTree(tmpDir(), {
      'index.html': '<h1>hi</h1>'.repeat(200),
      'a/b/c.css': 'body{color:red}'.repeat(300),
      'bin.dat': noise(50_000),
    });
    const out = tmpDir();
    await mkroot([src, path.join(out, '1.webroot')]);
    await mkroot([src, path.join(out, '2.webroot')]);
    expect(fs.readFileSync(path.join(out, '1.webroot')).equals(fs.readFileSync(path.join(out, '2.webroot')))).toBe(true);
  });

  it('stores identical contents once and says so', async () => {
    const same = 'same bytes '.repeat(100);
    const src = writeTree(tmpDir(), { 'a.txt': same, 'b/c.txt': same, 'd.txt': 'different' });
    const out = path.join(tmpDir(), 'o.webroot');
    const r = await mkroot([src, out, '--no-compress']);
    expect(r.stdout).toContain('3 files');
    expect(r.stdout).toContain('1 deduplicated');
    const info = JSON.parse((await mkroot(['info', out, '--json'])).stdout);
    expect(info.objects).toBe(2);
  });

  it('precompresses compressible types with br and gzip, only when smaller; --no-compress turns it off', async () => {
    const src = writeTree(tmpDir(), {
      'big.html': '<p>compress me please</p>\n'.repeat(500),
      'tiny.txt': 'x',
      'noise.js': noise(20_000).toString('base64').replace(/[^a-z]/gi, '').slice(0, 2000),
      'img.png': Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(5000)]),
    });
    const out = path.join(tmpDir(), 'o.webroot');
    expect((await mkroot([src, out])).code).toBe(0);
    const ls = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string; variants: { encoding: string }[] }[];
    const byPath = Object.fromEntries(ls.map((e) => [e.path, e.variants.map((v) => v.encoding)]));
    expect(byPath['/big.html']).toEqual(['br', 'gzip']);
    expect(byPath['/tiny.txt']).toEqual([]); // not meaningfully smaller
    expect(byPath['/img.png']).toEqual([]); // not a compressible type
    const br = (await mkroot(['cat', out, '/big.html', '--encoding', 'br'])).stdoutBytes;
    expect(zlib.brotliDecompressSync(br).toString()).toBe('<p>compress me please</p>\n'.repeat(500));
    const gz = (await mkroot(['cat', out, 'big.html', '--encoding', 'gzip'])).stdoutBytes;
    expect(zlib.gunzipSync(gz).toString()).toBe('<p>compress me please</p>\n'.repeat(500));

    const plain = path.join(tmpDir(), 'plain.webroot');
    const r = await mkroot([src, plain, '--no-compress']);
    expect(r.stdout).toContain('no precompression');
    const ls2 = JSON.parse((await mkroot(['ls', plain, '--json'])).stdout) as { variants: unknown[] }[];
    expect(ls2.every((e) => e.variants.length === 0)).toBe(true);
  });

  it('--reuse takes variants of unchanged content from an older webroot, with identical output', async () => {
    const src = writeTree(tmpDir(), { 'a.html': '<p>one</p>'.repeat(300), 'b.css': 'p{margin:0}'.repeat(300) });
    const out = tmpDir();
    await mkroot([src, path.join(out, 'v1.webroot')]);
    const r = await mkroot([src, path.join(out, 'v2.webroot'), '--reuse', path.join(out, 'v1.webroot')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(4 variants reused\)/);
    expect(fs.readFileSync(path.join(out, 'v2.webroot')).equals(fs.readFileSync(path.join(out, 'v1.webroot')))).toBe(true);
    const bad = await mkroot([src, path.join(out, 'v3.webroot'), '--reuse', path.join(out, 'missing.webroot')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/missing\.webroot: no such file/);
    expect(fs.existsSync(path.join(out, 'v3.webroot'))).toBe(false);
  });

  it('--mime overrides the type of an extension', async () => {
    const src = writeTree(tmpDir(), { 'app.webmanifest': '{}', 'x.foo': 'foo' });
    const out = path.join(tmpDir(), 'o.webroot');
    await mkroot([src, out, '--mime', '.foo=application/x-foo', '--mime', '.webmanifest=application/manifest+json']);
    const ls = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string; mime: string }[];
    expect(ls.find((e) => e.path === '/x.foo')!.mime).toBe('application/x-foo');
    expect(ls.find((e) => e.path === '/app.webmanifest')!.mime).toBe('application/manifest+json; charset=utf-8');
    const bad = await mkroot([src, `${out}2`, '--mime', 'foo']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--mime "foo": expected \.ext=type\/subtype/);
  });

  it('streams files larger than 8 MiB (identity and compressed variants)', async () => {
    const line = 'a large compressible text file line, with some words in it\n';
    const content = line.repeat(Math.ceil((9 * 1024 * 1024) / line.length));
    const src = writeTree(tmpDir(), { 'big.txt': content });
    const out = path.join(tmpDir(), 'o.webroot');
    expect((await mkroot([src, out, '--brotli-quality', '5'])).code).toBe(0);
    const cat = await mkroot(['cat', out, '/big.txt']);
    expect(cat.stdoutBytes.equals(Buffer.from(content))).toBe(true);
    const br = await mkroot(['cat', out, '/big.txt', '--encoding', 'br']);
    expect(br.stdoutBytes.length).toBeLessThan(content.length / 10);
    expect(zlib.brotliDecompressSync(br.stdoutBytes).equals(Buffer.from(content))).toBe(true);
    expect((await mkroot(['verify', out])).code).toBe(0);
  }, 60_000);

  it('shows progress (files, bytes, rate) on a terminal, and only there', async () => {
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) {
      console.log('skipped: `script` (util-linux) is not installed, so no terminal can be simulated');
      return;
    }
    const src = writeTree(tmpDir(), Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}.bin`, noise(4000, i + 1)])));
    const out = path.join(tmpDir(), 'tty.webroot');
    // `script` runs mkroot on a pseudo-terminal and copies what it shows to our stdout.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${MKROOT_BIN} ${src} ${out}`, '/dev/null'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\r\x1b\[K300\/300 files, [\d.]+ [kM]B of [\d.]+ [kM]B, [\d.]+ [kMG]?B\/s/);
    expect(r.stdout).toMatch(/mkroot: .*tty\.webroot: 300 files/);
  });

  it('--quiet prints nothing on success', async () => {
    const r = await mkroot([EXAMPLE_SITE, path.join(tmpDir(), 'q.webroot'), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });
});

describe('mkroot policy on what is packed', () => {
  it('excludes dotfiles except .well-known/, unless --include-dotfiles', async () => {
    const src = writeTree(tmpDir(), { '.env': 'SECRET=1', '.git/config': 'x', 'a/.hidden': 'h', '.well-known/security.txt': 'Contact: x', 'index.html': 'i' });
    const out = tmpDir();
    await mkroot([src, path.join(out, 'a.webroot')]);
    const paths = (JSON.parse((await mkroot(['ls', path.join(out, 'a.webroot'), '--json'])).stdout) as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(['/', '/.well-known', '/.well-known/security.txt', '/a', '/index.html']);
    await mkroot([src, path.join(out, 'b.webroot'), '--include-dotfiles']);
    const all = (JSON.parse((await mkroot(['ls', path.join(out, 'b.webroot'), '--json'])).stdout) as { path: string }[]).map((e) => e.path);
    expect(all).toContain('/.env');
    expect(all).toContain('/.git/config');
    expect(all).toContain('/a/.hidden');
  });

  it('follows symlinks that stay inside the tree (files and directories)', async () => {
    const src = writeTree(tmpDir(), { 'real/page.html': 'page', 'file.txt': 'target' });
    fs.symlinkSync('file.txt', path.join(src, 'alias.txt'));
    fs.symlinkSync('real', path.join(src, 'linked-dir'));
    const out = path.join(tmpDir(), 'o.webroot');
    expect((await mkroot([src, out])).code).toBe(0);
    expect((await mkroot(['cat', out, '/alias.txt'])).stdout).toBe('target');
    expect((await mkroot(['cat', out, '/linked-dir/page.html'])).stdout).toBe('page');
  });

  it('a symlink escaping the tree is an error naming it, or skipped with --skip-escaping-links', async () => {
    const outside = writeTree(tmpDir(), { 'secret.txt': 'outside' });
    const src = writeTree(tmpDir(), { 'index.html': 'i' });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(src, 'leak.txt'));
    await expectPackFailure(src, /leak\.txt: symbolic link escapes the source tree .*--skip-escaping-links/);
    const out = path.join(tmpDir(), 'o.webroot');
    const r = await mkroot([src, out, '--skip-escaping-links']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^mkroot: warning: skipped .*leak\.txt: symbolic link escapes the source tree/);
    expect((await mkroot(['cat', out, '/leak.txt'])).code).toBe(1);
  });

  it('a dangling symlink is an error naming it', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'i' });
    fs.symlinkSync('nowhere.txt', path.join(src, 'broken.txt'));
    await expectPackFailure(src, /broken\.txt: symbolic link points to nothing/);
  });

  it('skips FIFOs (and other special files) with a warning', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'i' });
    const mk = await import('node:child_process').then((cp) => cp.spawnSync('mkfifo', [path.join(src, 'pipe')]));
    expect(mk.status).toBe(0);
    const out = path.join(tmpDir(), 'o.webroot');
    const r = await mkroot([src, out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: skipped .*pipe: not a regular file or directory/);
    expect(r.stdout).toContain('1 files');
  });

  it('a file name that is not valid UTF-8 is an error naming it', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'i' });
    fs.writeFileSync(Buffer.concat([Buffer.from(`${src}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.html')]), 'x');
    await expectPackFailure(src, /bad-.*file name is not valid UTF-8 \(bytes 6261642dfffe2e68746d6c\); rename it/);
  });

  it('a missing SRC_DIR, or a SRC_DIR that is a file, is one clear error', async () => {
    const dir = tmpDir();
    await expectPackFailure(path.join(dir, 'no-such-dir'), /no-such-dir: no such directory/);
    const file = path.join(dir, 'file.txt');
    fs.writeFileSync(file, 'x');
    await expectPackFailure(file, /file\.txt: not a directory/);
  });

  it('an unwritable destination is one clear error and leaves nothing', async () => {
    const r = await mkroot([EXAMPLE_SITE, '/nonexistent-dir/out.webroot']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('mkroot: /nonexistent-dir/out.webroot: cannot create the output file there (ENOENT); check that /nonexistent-dir exists and is writable');
  });

  it('an unreadable file is one clear error naming it, and leaves no output', async () => {
    const isRoot = process.getuid?.() === 0;
    const src = writeTree(tmpDir(), { 'index.html': 'i', 'locked.html': 'secret' });
    fs.chmodSync(src, 0o755);
    fs.chmodSync(path.join(src, 'locked.html'), 0o000);
    const outDir = tmpDir('mkroot-out-');
    fs.chmodSync(outDir, 0o777);
    // root reads anything: run the CLI as nobody (65534) then, so the permission really bites.
    const r = await mkroot([src, path.join(outDir, 'out.webroot')], isRoot ? { uid: 65534, gid: 65534 } : {});
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^mkroot: .*locked\.html: cannot read \(EACCES\); fix its permissions or remove it from the tree$/);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});

describe('mkroot inspection commands', () => {
  const dir = tmpDir();
  const v1 = path.join(dir, 'v1.webroot');
  const v2 = path.join(dir, 'v2.webroot');
  const src1 = writeTree(tmpDir(), { 'index.html': 'v1 home', 'old.html': 'old', 'same.css': 'p{}', 'type.x': 'abc' });
  const src2 = writeTree(tmpDir(), { 'index.html': 'v2 home', 'new.html': 'new', 'same.css': 'p{}', 'type.x': 'abc' });

  it('ls lists kind, size, type and variants; --json gives every field', async () => {
    await mkroot([src1, v1]);
    await mkroot([src2, v2, '--mime', '.x=text/x-changed']);
    const text = (await mkroot(['ls', v1])).stdout;
    expect(text).toMatch(/^f +7 +text\/html; charset=utf-8 +\/index\.html$/m);
    expect(text).toMatch(/^d +\/$/m);
    const json = JSON.parse((await mkroot(['ls', v1, '--json'])).stdout) as Record<string, unknown>[];
    expect(json.find((e) => e.path === '/index.html')).toEqual({
      path: '/index.html',
      kind: 'file',
      size: 7,
      mime: 'text/html; charset=utf-8',
      mtime: 1_700_000_000,
      etag: expect.stringMatching(/^"[\w-]{22}"$/),
      variants: [],
    });
  });

  it('cat writes the exact bytes; a missing path is a clear error', async () => {
    expect((await mkroot(['cat', v1, '/index.html'])).stdout).toBe('v1 home');
    const r = await mkroot(['cat', v1, '/nope.html']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mkroot: \/nope\.html: no such file in .*v1\.webroot; list paths with: mkroot ls/);
  });

  it('info shows the format version, counts and sizes', async () => {
    const info = JSON.parse((await mkroot(['info', v1, '--json'])).stdout);
    expect(info).toMatchObject({ formatVersion: 2, files: 4, directories: 1, objects: 4, variants: 0, redirectRules: 0, headerBlocks: 0, generator: expect.stringMatching(/^mkroot \d/) });
    expect(info.totalBytes).toBe(fs.statSync(v1).size);
    expect((await mkroot(['info', v1])).stdout).toMatch(/^format version +2$/m);
  });

  it('diff shows what a deploy changes', async () => {
    const json = JSON.parse((await mkroot(['diff', v1, v2, '--json'])).stdout);
    expect(json).toEqual({
      added: ['/new.html'],
      removed: ['/old.html'],
      changed: [
        { path: '/index.html', what: ['content'] },
        { path: '/type.x', what: ['type'] },
      ],
      rules: { added: [], removed: [], changed: [] },
    });
    expect((await mkroot(['diff', v1, v2])).stdout).toBe('+ /new.html\n- /old.html\n~ /index.html (content)\n~ /type.x (type)\n1 added, 1 removed, 2 changed\n');
  });

  it('verify passes on a good file and fails (exit 1) on an altered byte', async () => {
    const ok = await mkroot(['verify', v1]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/v1\.webroot: OK \(4 objects/);
    const bad = path.join(dir, 'bad.webroot');
    const bytes = fs.readFileSync(v1);
    bytes[bytes.length - 2] ^= 1;
    fs.writeFileSync(bad, bytes);
    const r = await mkroot(['verify', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bytes at offset');
    expect(r.stderr).toMatch(/FAILED verification/);
  });

  it('a file that is not a webroot is refused with one line', async () => {
    const r = await mkroot(['ls', path.join(src1, 'index.html')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^mkroot: .*index\.html: not a webroot file \(no SQLite header\)$/);
  });
});

describe('mkroot usage', () => {
  it.each(['build', 'ls', 'cat', 'info', 'verify', 'diff'])('%s --help documents the command', async (cmd) => {
    const r = await mkroot([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: mkroot ${cmd} `));
  });

  it('--help lists every command', async () => {
    const r = await mkroot(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['build', 'ls', 'cat', 'info', 'verify', 'diff']) expect(r.stdout).toContain(cmd);
  });

  it('a mistyped option is a clear error, not a stack trace', async () => {
    const r = await mkroot(['build', EXAMPLE_SITE, path.join(tmpDir(), 'x.webroot'), '--no-compres']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown option '--no-compres'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('no arguments prints usage and exits non-zero', async () => {
    const r = await mkroot([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: mkroot/);
  });

  it('an out-of-range number is a clear error', async () => {
    const r = await mkroot([EXAMPLE_SITE, path.join(tmpDir(), 'x.webroot'), '--brotli-quality', '12']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--brotli-quality must be a whole number from 0 to 11/);
  });
});
