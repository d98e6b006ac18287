/**
 * Site rules served by the real httpd: `_redirects`, `_headers`, the SPA
 * fallback, clean URLs, trailing-slash policies and the nearest 404, packed
 * by the real mkroot. Case names cite the documentation each behaviour comes
 * from (NL-R: https://docs.netlify.com/routing/redirects/, NL-RP:
 * .../rewrites-proxies/, NL-O: .../redirect-options/, NL-H:
 * https://docs.netlify.com/routing/headers/, CF-H:
 * https://developers.cloudflare.com/pages/configuration/headers/, CF-S:
 * https://developers.cloudflare.com/pages/configuration/serving-pages/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { MKROOT_BIN } from './helpers/paths.js';
import { KeepAliveClient, raw, type RawResponse } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const FILES: Record<string, string> = {
  'index.html': '<p>home</p>\n',
  'about.html': '<p>about</p>\n',
  'shadowed.html': '<p>shadowed file</p>\n',
  'forced.html': '<p>forced away</p>\n',
  '404.html': '<p>site 404</p>\n',
  'docs/index.html': '<p>docs</p>\n',
  'docs/404.html': '<p>docs 404</p>\n',
  'docs/a/page.html': '<p>docs a page</p>\n',
  'app/index.html': '<p>app shell</p>\n',
  'app/app.js': 'console.log("app");\n',
  'assets/app.css': 'body { color: red }\n'.repeat(20),
  'private/404.html': '<p>private 404</p>\n',
  'errors/gone.html': '<p>this is gone</p>\n',
  'errors/legal.html': '<p>unavailable for legal reasons</p>\n',
  'embed/widget.html': '<p>embeddable</p>\n',
  // Identical bytes, so one stored object: the cached response head must still follow the path's fields.
  'files/a.txt': 'same bytes\n',
  'files/b.txt': 'same bytes\n',
  _redirects: `# NL-R examples
/home              /
/old               /new
/store id=:id      /products/:id    302
/news/:year/:month /blog/:year-:month.html 302
/app/*             /app/index.html  200
/shadowed          /elsewhere       301
/forced            /elsewhere       302!
/private/*         /private/404.html 404
/gone              /errors/gone.html 410
/gone-plain        /nothing         410
/legal             /errors/legal.html 451
/temp              /x               307
https://old.example/* https://example.com/:splat 301!
`,
  _headers: `/*
  X-Frame-Options: DENY
  Link: </assets/app.css>; rel=preload; as=style
/assets/*
  Cache-Control: public, max-age=31536000, immutable
  Expires: Thu, 01 Dec 2099 16:00:00 GMT
/embed/*
  ! X-Frame-Options
/movies/:title
  X-Movie-Name: You are watching ":title"
/files/*
  X-Origin-Url: <https://cdn.example/:splat>; rel=canonical
`,
  'webroot.toml': '[build]\nclean_urls = true\n',
};

let vhosts: string;
beforeAll(async () => {
  const src = writeTree(tmpDir('rules-site-'), FILES);
  const out = tmpDir('rules-webroots-');
  const site = path.join(out, 'site.webroot');
  const never = path.join(out, 'never.webroot');
  const pack = (args: string[]) => runNode(MKROOT_BIN, ['build', '-q', ...args]);
  expect((await pack([src, site])).code).toBe(0);
  expect((await pack([src, never, '--trailing-slash', 'never', '--no-clean-urls'])).code).toBe(0);
  vhosts = tmpDir('rules-vhosts-');
  fs.symlinkSync(site, path.join(vhosts, '__default__'));
  fs.symlinkSync(site, path.join(vhosts, 'old.example'));
  fs.symlinkSync(never, path.join(vhosts, 'never.test'));
});

const body = (r: RawResponse) => r.body.toString();

/** The cases every IO mode must get right: redirects, the SPA fallback, _headers on 200 and 304, the nearest 404. */
function keyCases(get: () => { port: number; ka: KeepAliveClient }) {
  it('NL-R a 301 rule with the query passed through, with the _headers of the path', async () => {
    const r = await raw(get().port, 'GET', '/old?utm=1');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/new?utm=1');
    expect(r.headers['x-frame-options']).toBe('DENY');
  });

  it('NL-RP SPA fallback: a client route gets the app shell with 200; an existing asset is itself', async () => {
    const { ka } = get();
    const shell = await ka.request('GET', '/app/settings/profile');
    expect(shell.status).toBe(200);
    expect(body(shell)).toBe(FILES['app/index.html']);
    expect(shell.headers.etag).toMatch(/^"/);
    const again = await ka.request('GET', '/app/settings/profile');
    expect(body(again)).toBe(FILES['app/index.html']);
    const js = await ka.request('GET', '/app/app.js');
    expect(body(js)).toBe(FILES['app/app.js']);
  });

  it('NL-H Cache-Control from _headers replaces --cache-control; CF-H a 304 keeps only the fields RFC 9110 section 15.4.5 allows', async () => {
    const { ka } = get();
    const ok = await ka.request('GET', '/assets/app.css');
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(ok.headerNames.filter((n) => n === 'cache-control')).toHaveLength(1);
    expect(ok.headers['x-frame-options']).toBe('DENY');
    expect(ok.headers.link).toBe('</assets/app.css>; rel=preload; as=style');
    const again = await ka.request('GET', '/assets/app.css');
    expect(again.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const nm = await ka.request('GET', '/assets/app.css', { 'If-None-Match': ok.headers.etag! });
    expect(nm.status).toBe(304);
    expect(nm.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(nm.headers.expires).toBe('Thu, 01 Dec 2099 16:00:00 GMT');
    expect(nm.headers.etag).toBe(ok.headers.etag);
    expect(nm.headers).not.toHaveProperty('x-frame-options');
    expect(nm.headers).not.toHaveProperty('link');
    expect(nm.body.length).toBe(0);
  });

  it('CF-S nearest 404: /docs/a/missing gets /docs/404.html, /missing gets /404.html, both with the _headers', async () => {
    const docs = await raw(get().port, 'GET', '/docs/a/missing');
    expect(docs.status).toBe(404);
    expect(body(docs)).toBe(FILES['docs/404.html']);
    expect(docs.headers['x-frame-options']).toBe('DENY');
    const top = await raw(get().port, 'GET', '/missing');
    expect(top.status).toBe(404);
    expect(body(top)).toBe(FILES['404.html']);
  });
}

describe.each([
  { name: 'sync', io: 'sync', cache: '0' },
  { name: 'stream', io: 'stream', cache: '0' },
  { name: 'async', io: 'async', cache: '0' },
  { name: 'sync with the object cache', io: 'sync', cache: '32M' },
] as const)('site rules, httpd --io $name', ({ io, cache }) => {
  let srv: RunningHttpd;
  let ka: KeepAliveClient;
  beforeAll(async () => {
    srv = await startHttpd(vhosts, ['--io', io, '--workers', '1', '--cache-size', cache]);
    ka = new KeepAliveClient(srv.port);
  });
  afterAll(async () => {
    ka.close();
    expect(await srv.stop()).toBe(0);
  });
  keyCases(() => ({ port: srv.port, ka }));
});

describe('site rules through the real server: the documentation cases', () => {
  let srv: RunningHttpd;
  let port: number;
  beforeAll(async () => {
    srv = await startHttpd(vhosts, ['--workers', '1']);
    port = srv.port;
  });
  afterAll(async () => {
    expect(await srv.stop()).toBe(0);
  });

  it.each([
    ['NL-R a rule without status is a 301', '/home', 301, '/'],
    ['NL-R 302 with a placeholder per segment', '/news/2024/05', 302, '/blog/2024-05.html'],
    ['NL-R 307', '/temp?a=b', 307, '/x?a=b'],
    ['NL-R query condition: the value is bound, the query is not passed through', '/store?id=7&ref=x', 302, '/products/7'],
    ['NL-RP ! forces a rule over an existing file', '/forced', 302, '/elsewhere'],
    ['CF-S clean URLs: /about.html redirects to /about, query kept', '/about.html?x=1', 308, '/about?x=1'],
    ['CF-S clean URLs: /docs/index.html redirects to /docs/', '/docs/index.html', 308, '/docs/'],
    ['trailing slash always (default): /docs -> /docs/', '/docs', 301, '/docs/'],
  ])('%s', async (_name, target, status, location) => {
    const r = await raw(port, 'GET', target);
    expect(r.status).toBe(status);
    expect(r.headers.location).toBe(location);
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it.each([
    ['NL-RP shadowing: a rule without ! does not apply where a file is (clean URL /shadowed)', '/shadowed', 200, 'shadowed.html'],
    ['CF-S clean URLs: /about serves about.html', '/about', 200, 'about.html'],
    ['NL-R a 404 rule with TO as the body', '/private/secret', 404, 'private/404.html'],
    ['NL-R a 410 rule with TO as the body', '/gone', 410, 'errors/gone.html'],
    ['a 451 rule with TO as the body', '/legal', 451, 'errors/legal.html'],
  ])('%s', async (_name, target, status, file) => {
    const r = await raw(port, 'GET', target);
    expect(r.status).toBe(status);
    expect(body(r)).toBe(FILES[file]);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers).not.toHaveProperty('location');
    if (status !== 200) expect(r.headers).not.toHaveProperty('etag'); // a rule's error page has no validators
  });

  it('a 410 rule whose TO is not a file answers the plain 410 body', async () => {
    const r = await raw(port, 'GET', '/gone-plain');
    expect(r.status).toBe(410);
    expect(body(r)).toBe('410 Gone\n');
    expect(r.headers['x-frame-options']).toBe('DENY');
  });

  it('NL-R domain-level rule: matched against the Host of the vhost it is served for', async () => {
    const r = await raw(port, 'GET', '/some/page?q=1', {}, 'old.example');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://example.com/some/page?q=1');
    const other = await raw(port, 'GET', '/about', {}, 'localhost');
    expect(other.status).toBe(200);
  });

  it('CF-H "! Name" removes a field an earlier block set', async () => {
    const r = await raw(port, 'GET', '/embed/widget');
    expect(r.status).toBe(200);
    expect(body(r)).toBe(FILES['embed/widget.html']);
    expect(r.headers).not.toHaveProperty('x-frame-options');
    expect(r.headers.link).toBe('</assets/app.css>; rel=preload; as=style');
  });

  it('CF-H placeholders and splats in _headers values: each path gets its own bound values, URI-encoded', async () => {
    const ka = new KeepAliveClient(port);
    try {
      const jaws = await ka.request('GET', '/movies/jaws');
      expect(jaws.status).toBe(404); // no such file: the fields follow the requested path
      expect(jaws.headers['x-movie-name']).toBe('You are watching "jaws"');
      const spaced = await ka.request('GET', '/movies/star%20wars');
      expect(spaced.headers['x-movie-name']).toBe('You are watching "star%20wars"');
      for (let i = 0; i < 2; i++) {
        // a.txt and b.txt share one stored object and its cached head; their fields must not be
        const a = await ka.request('GET', '/files/a.txt');
        expect(body(a)).toBe(FILES['files/a.txt']);
        expect(a.headers['x-origin-url']).toBe('<https://cdn.example/a.txt>; rel=canonical');
        const b = await ka.request('GET', '/files/b.txt');
        expect(b.headers.etag).toBe(a.headers.etag);
        expect(b.headers['x-origin-url']).toBe('<https://cdn.example/b.txt>; rel=canonical');
      }
    } finally {
      ka.close();
    }
  });

  it('NL-O a memoised redirect keeps each request\'s own query; HEAD gets the same head without the body', async () => {
    const ka = new KeepAliveClient(port);
    try {
      for (const [target, loc] of [['/old?a=1', '/new?a=1'], ['/old?b=2', '/new?b=2'], ['/old', '/new'], ['/old?a=1', '/new?a=1'], ['/news/2024/05', '/blog/2024-05.html'], ['/news/2025/06', '/blog/2025-06.html']]) {
        const r = await ka.request('GET', target!);
        expect(r.status, target).toBe(target!.startsWith('/news') ? 302 : 301);
        expect(r.headers.location, target).toBe(loc);
        expect(body(r), target).toBe(`${r.status} ${r.status === 301 ? 'Moved Permanently' : 'Found'}: ${loc}\n`);
        expect(r.headers['x-frame-options']).toBe('DENY');
      }
      const get = await ka.request('GET', '/old?a=1');
      const head = await ka.request('HEAD', '/old?a=1');
      expect(head.status).toBe(301);
      expect(head.headers.location).toBe('/new?a=1');
      expect(head.headers['content-length']).toBe(get.headers['content-length']);
      expect(head.body.length).toBe(0);
      // A domain-level rule: the same path and query answer per host, whichever was asked first.
      expect((await raw(port, 'GET', '/only/there?a=1')).status).toBe(404);
      const there = await raw(port, 'GET', '/only/there?a=1', {}, 'old.example');
      expect(there.headers.location).toBe('https://example.com/only/there?a=1');
      expect((await raw(port, 'GET', '/only/there?a=1')).status).toBe(404);
    } finally {
      ka.close();
    }
  });

  it('NL-H headers apply to HEAD and 206 as to 200', async () => {
    const head = await raw(port, 'HEAD', '/assets/app.css');
    expect(head.status).toBe(200);
    expect(head.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(head.body.length).toBe(0);
    const part = await raw(port, 'GET', '/assets/app.css', { Range: 'bytes=0-3', 'Accept-Encoding': 'identity' });
    expect(part.status).toBe(206);
    expect(body(part)).toBe('body');
    expect(part.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(part.headers['x-frame-options']).toBe('DENY');
  });

  it('the rule files themselves are never served', async () => {
    for (const p of ['/_redirects', '/_headers', '/webroot.toml']) {
      const r = await raw(port, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(body(r)).toBe(FILES['404.html']);
    }
  });

  it('--trailing-slash never: /docs/ -> 308 /docs, which serves the index; no clean URLs there', async () => {
    const r = await raw(port, 'GET', '/docs/?x=1', {}, 'never.test');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('/docs?x=1');
    const docs = await raw(port, 'GET', '/docs', {}, 'never.test');
    expect(docs.status).toBe(200);
    expect(body(docs)).toBe(FILES['docs/index.html']);
    expect((await raw(port, 'GET', '/about', {}, 'never.test')).status).toBe(404);
  });

  it('a raw request target never reaches a Location unnormalised', async () => {
    const r = await raw(port, 'GET', '/d%6fcs');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/docs/');
    const placeholder = await raw(port, 'GET', '/news/%0d%0aX-Evil:%20yes/05');
    expect(placeholder.status).toBe(400); // control characters in a path are refused before any rule
  });
});

describe('rules deploy and roll back with the content', () => {
  it('swapping the vhost entry to a webroot with other rules changes the answers at once; rolling back restores them', async () => {
    const out = tmpDir('rules-swap-');
    const v1 = path.join(out, 'v1.webroot');
    const v2 = path.join(out, 'v2.webroot');
    const pack = (src: string, dest: string) => runNode(MKROOT_BIN, ['build', '-q', src, dest]);
    expect((await pack(writeTree(tmpDir('rules-v1-'), { 'index.html': 'v1\n' }), v1)).code).toBe(0);
    expect((await pack(writeTree(tmpDir('rules-v2-'), { 'index.html': 'v2\n', _redirects: '/promo /index.html 302\n' }), v2)).code).toBe(0);
    const dir = tmpDir('rules-swap-vhosts-');
    const entry = path.join(dir, '__default__');
    fs.symlinkSync(v1, entry);
    const srv = await startHttpd(dir, ['--workers', '0', '--rescan-interval', '0.1']);
    const point = (target: string) => {
      fs.symlinkSync(target, path.join(dir, '.tmp'));
      fs.renameSync(path.join(dir, '.tmp'), entry);
    };
    /** Polls (at most 100 times, 50 ms apart) until /promo answers `status`. */
    const until = async (status: number) => {
      for (let i = 0; i < 100; i++) {
        if ((await raw(srv.port, 'GET', '/promo')).status === status) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    try {
      expect((await raw(srv.port, 'GET', '/promo')).status).toBe(404);
      point(v2);
      expect(await until(302)).toBe(true);
      expect(body(await raw(srv.port, 'GET', '/'))).toBe('v2\n');
      point(v1);
      expect(await until(404)).toBe(true);
      expect(body(await raw(srv.port, 'GET', '/'))).toBe('v1\n');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});
