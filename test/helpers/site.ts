import fs from 'node:fs';
import path from 'node:path';
import { packDirectory, type PackOptions } from '@webroot/mkroot';
import { noise, tmpDir, writeTree } from './tmp.js';

export const MTIME = 1_700_000_000;

export interface Fixture {
  vhosts: string;
  files: Record<string, Buffer>;
  /** Path of the webroot file of each site. */
  webroots: Record<string, string>;
}

const INDEX = `<!doctype html><title>home</title>\n${'<p>The default site, compressible text.</p>\n'.repeat(100)}`;

/** Files of the default site, by site path. */
export function defaultSiteFiles(): Record<string, Buffer> {
  const files: Record<string, string | Buffer> = {
    'index.html': INDEX,
    'about.html': '<!doctype html><title>about</title><p>About.</p>\n',
    '404.html': '<!doctype html><title>404</title><p>Custom not found page.</p>\n',
    'docs/index.html': '<!doctype html><title>docs</title><p>Docs index.</p>\n',
    'docs/guide.html': '<!doctype html><title>guide</title><p>Guide.</p>\n',
    'files/a.txt': 'file a\n',
    'files/b.txt': 'file b\n',
    'c++.html': 'plus plus\n',
    'a b.html': 'with a space\n',
    'café.html': 'non-ascii name\n',
    'empty.txt': '',
    'big.bin': noise(3 * 1024 * 1024 + 17, 7),
    'big.txt': 'a line of compressible text in a biggish file\n'.repeat(8000),
  };
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [`/${k}`, Buffer.from(v)]));
}

/** Packs the test sites (default and example.com) into webroots and links them into a vhosts directory. */
export async function makeFixture(extra: Record<string, string | Buffer> = {}): Promise<Fixture> {
  const files = defaultSiteFiles();
  for (const [k, v] of Object.entries(extra)) files[`/${k}`] = Buffer.from(v);
  const src = writeTree(tmpDir('site-'), Object.fromEntries(Object.entries(files).map(([k, v]) => [k.slice(1), v])), MTIME);
  const src2 = writeTree(tmpDir('site2-'), { 'index.html': '<p>example.com home</p>\n' }, MTIME);
  const out = tmpDir('webroots-');
  const webroots = { default: path.join(out, 'default.webroot'), example: path.join(out, 'example.webroot') };
  await packDirectory(src, webroots.default, { compression: { brotliQuality: 5, gzipLevel: 6 } });
  await packDirectory(src2, webroots.example);
  const vhosts = tmpDir('vhosts-');
  fs.symlinkSync(webroots.default, path.join(vhosts, '__default__'));
  fs.symlinkSync(webroots.example, path.join(vhosts, 'example.com'));
  return { vhosts, files, webroots };
}

/** Packs `files` into a webroot and links it as `__default__` of a new vhosts directory. */
export async function singleSiteVhosts(files: Record<string, string | Buffer>, options?: PackOptions): Promise<{ vhosts: string; webroot: string }> {
  const webroot = path.join(tmpDir('webroots-'), 'site.webroot');
  await packDirectory(writeTree(tmpDir('site-'), files), webroot, options);
  const vhosts = tmpDir('vhosts-');
  fs.symlinkSync(webroot, path.join(vhosts, '__default__'));
  return { vhosts, webroot };
}
