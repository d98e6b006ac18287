import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { packDirectory } from '@webroot/mkroot';
import { describe, expect, it } from 'vitest';
import { MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

// Issue 15: mkroot's writer streams its index into SQLite instead of holding every file in
// memory. The files it writes must stay byte for byte those of the in-memory writer. The digests
// below were recorded by packing this very tree with the build at 431250c (main before the
// change; the digests of bb6f577, before the redirect_lookup table, matched too):
//   node packages/mkroot/bin/mkroot.js TREE OUT [--no-compress]; sha256sum OUT
// Since the entry lookup table (FORMAT.md section 1.3) mkroot's files hold one more table:
// packed without it (`entryLookup: false`) the bytes are still those digests, so nothing else moved;
// with it, the digests recorded by the build that added the table (the `withTable` ones).

const mkroot = (args: string[], opts: Parameters<typeof runNode>[2] = {}) => runNode(MKROOT_BIN, args, opts);

/** packDirectory without the entry lookup table: the bytes every mkroot wrote before it. */
async function packWithoutTable(src: string, compress: boolean): Promise<string> {
  const out = path.join(tmpDir(), 'no-table.webroot');
  await packDirectory(src, out, { compress, entryLookup: false });
  return sha256(out);
}
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const TEXT = 'the same compressible bytes, under three names and types. '.repeat(40);

/** A tree exercising what the index holds: rules, dedup, empty and sniffed files, dot paths, shared variants. */
function goldenTree(): string {
  const root = writeTree(tmpDir('pack-bytes-'), {
    'index.html': '<h1>hi</h1>'.repeat(200),
    'a/b/c.css': 'body{color:red}'.repeat(300),
    'a/b/same.css': 'body{color:red}'.repeat(300),
    'a/empty.txt': '',
    'bin.dat': noise(50_000),
    noext: '#!/bin/sh\necho hi\n',
    // The same bytes as an incompressible type first, then as text, then as octet-stream:
    // only the files from the text one on share its precompressed variants.
    'z/1.png': TEXT,
    'z/2.txt': TEXT,
    'z/3.bin': TEXT,
    '.hidden': 'left out',
    '.well-known/security.txt': 'Contact: mailto:security@example.com\n',
    '_redirects': '/old /new 301\n/news/:year/* /blog/:year/:splat 302\n',
    '_headers': '/*\n  X-Frame-Options: DENY\n',
  });
  // Directory mtimes too, deepest first (writing a file into a directory changes its mtime).
  for (const dir of ['a/b', 'a', 'z', '.well-known', '.']) fs.utimesSync(path.join(root, dir), 1_700_000_500, 1_700_000_500);
  return root;
}

describe('mkroot output bytes are those of the in-memory writer (issue 15, recorded from 431250c)', () => {
  it('without compression', async () => {
    const out = path.join(tmpDir(), 'site.webroot');
    const r = await mkroot([goldenTree(), out, '--no-compress', '-q']);
    expect(r.code).toBe(0);
    expect(sha256(out)).toBe('5af182f3ddb4581bd17dda2b5fd6f448372e135a80e68fd24e47967cfcfb7360');
    expect(await packWithoutTable(goldenTree(), false)).toBe('ec7f189019e442163b7e9ad8989c0c96063bfb207c98ddac501e0f46ca15794c');
  });

  // Brotli's and zlib's output is fixed per library version, and the digest was recorded with Node 20.20.2's.
  const sameZlib = process.version === 'v20.20.2';
  if (!sameZlib) console.log(`pack-bytes: skipping the compressed case: its digest was recorded with Node v20.20.2's zlib and brotli, this is ${process.version}`);
  it.skipIf(!sameZlib)('with precompression (variants shared by identical files, stored after later files)', async () => {
    const out = path.join(tmpDir(), 'site.webroot');
    const r = await mkroot([goldenTree(), out, '-q']);
    expect(r.code).toBe(0);
    expect(sha256(out)).toBe('1b359bed60a31fca64a23f11e8599c2eaade3ce4e336f4123650b69d239b5b83');
    expect(await packWithoutTable(goldenTree(), true)).toBe('433a9f9b2512eb046d8554598cb6951368c9c2937da3fe0c785bf2b279c31ecd');
  });
});

/**
 * 1,500 files: enough for mkroot to read ahead on a second thread (from 1,000 files), with
 * duplicates, empty files and files above the read-ahead limit (64 KiB), which the main thread reads.
 */
function manyFilesTree(): string {
  const files: Record<string, string | Buffer> = {};
  for (let i = 0; i < 1500; i++) {
    const name = `d${i % 7}/f${String(i).padStart(4, '0')}${i % 5 === 0 ? '.html' : '.txt'}`;
    files[name] = i % 50 === 0 ? '' : i % 11 === 0 ? 'duplicate bytes\n' : i % 97 === 0 ? noise(70_000, i) : `file ${i}\n`.repeat(1 + (i % 13));
  }
  const root = writeTree(tmpDir('pack-many-'), files);
  for (let d = 0; d < 7; d++) fs.utimesSync(path.join(root, `d${d}`), 1_700_000_500, 1_700_000_500);
  fs.utimesSync(root, 1_700_000_500, 1_700_000_500);
  return root;
}

describe('mkroot output bytes with files read ahead on a second thread (issue 15, recorded from 431250c)', () => {
  it('1,500 files, without compression', async () => {
    const out = path.join(tmpDir(), 'many.webroot');
    const r = await mkroot([manyFilesTree(), out, '--no-compress', '-q']);
    expect(r.code).toBe(0);
    // Recorded again when mkroot began to start objects of 64 KiB or more at a page boundary (FORMAT.md
    // section 2): this tree has 70,000-byte files. Compared with the file of the build before: the same
    // objects (ids, hashes, lengths) in the same order, the same entries and meta but data_length; only
    // offsets moved, each large object to a page boundary.
    expect(sha256(out)).toBe('9274689149e298e9d167451252ee865d63578b31d7698e6168652e53cbe89672');
    expect(await packWithoutTable(manyFilesTree(), false)).toBe('7c82d3c9319647fce44170c6aeff2e1448c3350f25ac3c96789aceb55231b43f');
  });
});

describe('precompressed variants belong to the identity bytes (issue 15: kept in the index being built, not in memory)', () => {
  it('files with the same bytes share the variants from the first compressible one on', async () => {
    const out = path.join(tmpDir(), 'site.webroot');
    expect((await mkroot([goldenTree(), out, '-q'])).code).toBe(0);
    const listed = JSON.parse((await mkroot(['ls', out, '--json'])).stdout) as { path: string; variants: { encoding: string }[] }[];
    const encodings = (p: string) => listed.find((e) => e.path === p)!.variants.map((v) => v.encoding);
    expect(encodings('/z/1.png')).toEqual([]); // image/png: not compressed, and first with these bytes
    expect(encodings('/z/2.txt')).toEqual(['br', 'gzip']);
    expect(encodings('/z/3.bin')).toEqual(['br', 'gzip']); // octet-stream, but the bytes have variants by now
    expect(encodings('/a/b/c.css')).toEqual(['br', 'gzip']);
    expect(encodings('/a/b/same.css')).toEqual(['br', 'gzip']);
    expect(encodings('/bin.dat')).toEqual([]);
  });
});

describe('mkroot walks the tree twice (totals, then entries) without repeating itself', () => {
  it('each skipped entry is warned about once', async () => {
    const src = writeTree(tmpDir(), { 'index.html': 'hi' });
    const outside = writeTree(tmpDir(), { 'secret.txt': 'outside' });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(src, 'leak.txt'));
    const out = path.join(tmpDir(), 'o.webroot');
    const r = await mkroot([src, out, '--skip-escaping-links']);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter(Boolean);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^mkroot: warning: skipped .*leak\.txt: symbolic link escapes the source tree/);
  });

  it('a file removed between the two walks is one clear error, and nothing is left behind', async () => {
    const src = writeTree(tmpDir(), { 'a.txt': 'first', 'b.txt': 'second', 'c.txt': 'third' });
    const outDir = tmpDir();
    const out = path.join(outDir, 'o.webroot');
    // The progress callback runs in the packing pass, after the first walk has counted c.txt.
    const packing = packDirectory(src, out, {
      compress: false,
      progress: (p) => {
        if (p.filesDone === 1) fs.rmSync(path.join(src, 'c.txt'));
      },
    });
    await expect(packing).rejects.toMatchObject({ code: 'MKROOT_UNREADABLE_FILE', message: expect.stringMatching(/c\.txt: cannot read \(ENOENT\); fix its permissions or remove it from the tree$/) });
    expect(fs.readdirSync(outDir)).toEqual([]); // no output, no temporary output, no index being built
  });
});
