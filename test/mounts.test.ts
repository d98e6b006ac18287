import fs from 'node:fs';
import path from 'node:path';
import { packDirectory } from '@webroot/mkroot';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { raw } from './helpers/raw.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

let fx: Fixture;
let dir: string;
let docs1: string;
let docs2: string;
let v2: string;
let h: RunningHttpd;
const GUIDE = `<!doctype html><title>guide</title>\n${'<p>Docs text that compresses well.</p>\n'.repeat(200)}`;

beforeAll(async () => {
  fx = await makeFixture();
  dir = tmpDir('mounts-');
  docs1 = path.join(dir, 'docs-1.webroot');
  docs2 = path.join(dir, 'docs-2.webroot');
  v2 = path.join(dir, 'v2.webroot');
  await packDirectory(writeTree(tmpDir('d1-'), { 'index.html': 'docs 1\n', 'guide.html': GUIDE, 'sub/page.txt': 'sub 1\n' }), docs1, { compression: { brotliQuality: 5, gzipLevel: 6 } });
  await packDirectory(writeTree(tmpDir('d2-'), { 'index.html': 'docs 2\n', 'guide.html': 'guide 2\n', 'sub/page.txt': 'sub 2\n' }), docs2);
  await packDirectory(writeTree(tmpDir('v2-'), { 'index.html': 'v2\n' }), v2);
  fs.symlinkSync(docs1, path.join(dir, 'docs-current.webroot'));
  const file = path.join(dir, 'httpd.toml');
  fs.writeFileSync(
    file,
    `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = 1\nrescan_interval = "200ms"\n[[listen]]\naddress = "127.0.0.1:0"\n` +
      `[[host]]\nname = "example.com"\naliases = ["www.example.com"]\nautoindex = true\n` +
      `[[mount]]\nhost = "example.com"\nprefix = "/docs/"\nwebroot = "docs-current.webroot"\n` +
      `[[mount]]\nhost = "example.com"\nprefix = "/docs/v2/"\nwebroot = "v2.webroot"\n`,
  );
  h = await startHttpdWith(['--config', file]);
  await h.waitForLog((l) => l.event === 'vhost-loaded' && l.vhost === 'example.com/docs/v2/');
  return () => h.stop();
});

const get = (target: string, headers: Record<string, string> = {}, host = 'example.com') => raw(h.port, 'GET', target, headers, host);

describe('[[mount]]: a webroot under a path prefix of a host', () => {
  it('the mounted webroot sees the path below the prefix; the host keeps its own content elsewhere', async () => {
    expect((await get('/docs/')).body.toString()).toBe('docs 1\n');
    expect((await get('/docs/sub/page.txt')).body.toString()).toBe('sub 1\n');
    expect((await get('/')).body.toString()).toBe('<p>example.com home</p>\n');
    // An alias has the same mounts.
    expect((await get('/docs/sub/page.txt', {}, 'www.example.com')).body.toString()).toBe('sub 1\n');
    // Another host has none: /docs/ is the default site's own directory.
    expect((await get('/docs/', {}, 'other.example')).body.toString()).toBe(fx.files['/docs/index.html']!.toString());
  });

  it('the longest prefix wins', async () => {
    expect((await get('/docs/v2/')).body.toString()).toBe('v2\n');
    expect((await get('/docs/v2/guide.html')).status).toBe(404);
  });

  it('the prefix without its slash, and a directory inside the mount, redirect with the full path (RFC 9110 section 15.4.2)', async () => {
    const bare = await get('/docs?x=1');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/docs/?x=1');
    const sub = await get('/docs/sub');
    expect(sub.status).toBe(301);
    expect(sub.headers.location).toBe('/docs/sub/');
    expect((await get('/docs/v2')).headers.location).toBe('/docs/v2/');
  });

  it('dot segments are removed before the mount is chosen, and cannot climb out of it', async () => {
    expect((await get('/docs/sub/../sub/page.txt')).body.toString()).toBe('sub 1\n');
    expect((await get('/other/../docs/sub/page.txt')).body.toString()).toBe('sub 1\n');
    // Climbing above the prefix leaves the mount: it is the host's own path then.
    expect((await get('/docs/../index.html')).body.toString()).toBe('<p>example.com home</p>\n');
  });

  it('ETags, negotiation, conditional requests and ranges work inside a mount (RFC 9110 sections 8.8.3, 12.5.3, 13.1.2, 14)', async () => {
    const br = await get('/docs/guide.html', { 'accept-encoding': 'br' });
    expect(br.status).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toBe('Accept-Encoding');
    const plain = await get('/docs/guide.html');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(GUIDE);
    expect(plain.headers.etag).not.toBe(br.headers.etag);
    const notModified = await get('/docs/guide.html', { 'if-none-match': plain.headers.etag! });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    const range = await get('/docs/guide.html', { range: 'bytes=0-9' });
    expect(range.status).toBe(206);
    expect(range.headers['content-range']).toBe(`bytes 0-9/${GUIDE.length}`);
    expect(range.body.toString()).toBe(GUIDE.slice(0, 10));
  });

  it("the host's autoindex applies inside its mounts, with the full path shown", async () => {
    // docs-1 has no index.html in /sub/: a listing (autoindex = true for example.com).
    const listing = await get('/docs/sub/');
    expect(listing.status).toBe(200);
    expect(listing.body.toString()).toContain('/docs/sub/');
    expect(listing.body.toString()).toContain('page.txt');
  });

  it('is swapped like a vhost entry: replace the symlink, new requests get the new webroot; a bad file is refused and the old one keeps serving', async () => {
    const link = path.join(dir, 'docs-current.webroot');
    fs.symlinkSync(docs2, `${link}.tmp`);
    fs.renameSync(`${link}.tmp`, link);
    await h.waitForLog((l) => l.event === 'vhost-swapped' && l.vhost === 'example.com/docs/');
    expect((await get('/docs/sub/page.txt')).body.toString()).toBe('sub 2\n');
    const bad = path.join(dir, 'bad.webroot');
    fs.writeFileSync(bad, 'not a webroot');
    fs.symlinkSync(bad, `${link}.tmp`);
    fs.renameSync(`${link}.tmp`, link);
    await h.waitForLog((l) => l.event === 'vhost-refused' && l.vhost === 'example.com/docs/');
    expect((await get('/docs/sub/page.txt')).body.toString()).toBe('sub 2\n');
  });
});

describe('a mount whose webroot is not loaded', () => {
  it('is a 503 with Retry-After, never the host content under that prefix', async () => {
    const d = tmpDir('mount-missing-');
    const broken = path.join(d, 'broken.webroot');
    fs.writeFileSync(broken, 'garbage');
    const file = path.join(d, 'httpd.toml');
    fs.writeFileSync(file, `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = 0\n[[listen]]\naddress = "127.0.0.1:0"\n[[mount]]\nhost = "__default__"\nprefix = "/docs/"\nwebroot = "broken.webroot"\n`);
    const lone = await startHttpdWith(['--config', file]);
    try {
      const r = await raw(lone.port, 'GET', '/docs/index.html');
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect((await raw(lone.port, 'GET', '/about.html')).status).toBe(200);
    } finally {
      await lone.stop();
    }
  });
});
