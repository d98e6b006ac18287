/**
 * mkroot and the site rules, through the real CLI: every pack-time refusal
 * (FILE:LINE, exit 1, no output file), and `rules`, `test-rules`, `diff`,
 * determinism. Case names cite the documentation the syntax comes from
 * (NL-R: https://docs.netlify.com/routing/redirects/, NL-O: .../redirect-options/,
 * NL-H: https://docs.netlify.com/routing/headers/,
 * CF-H: https://developers.cloudflare.com/pages/configuration/headers/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const mkroot = (args: string[]) => runNode(MKROOT_BIN, args, { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
const SITE = { 'index.html': '<p>home</p>\n', 'about.html': '<p>about</p>\n', 'docs/index.html': '<p>docs</p>\n' };

const manyRules = Array.from({ length: 10_001 }, (_, i) => `/r${i} /x`).join('\n');
const manyBlocks = Array.from({ length: 1_001 }, (_, i) => `/b${i}\n  X-A: 1`).join('\n');

const BAD: [name: string, file: string, content: string | Buffer, where: string, message: RegExp][] = [
  ['NL-R an unknown status', '_redirects', '# ok\n/a /b 299\n', '_redirects:2:', /status 299 is not one we serve; write 301, 302/],
  ['NL-R a rule without a target', '_redirects', '/a\n', '_redirects:1:', /no target: a rule is FROM TO/],
  ['NL-R FROM that is not a path', '_redirects', 'old /new\n', '_redirects:1:', /is not a path/],
  ['NL-R :splat in TO without * in FROM', '_redirects', '/a /b/:splat\n', '_redirects:1:', /:splat in the target needs a \* at the end of the path \(write \/a\/\*\)/],
  ['NL-R a placeholder used in TO but not bound in FROM', '_redirects', '/a/:x /b/:y 301\n', '_redirects:1:', /:y in the target is not bound/],
  ['NL-R a 200 rewrite to an absolute URL (proxying)', '_redirects', '/api/* https://api.example.com/:splat 200\n', '_redirects:1:', /would proxy to another server.*redirect instead/],
  ['NL-O a Country= condition', '_redirects', '/ /anz 302 Country=au,nz\n', '_redirects:1:', /Country= needs the client's country/],
  ['NL-O a Language= condition (refused, documented)', '_redirects', '/ /fr 302 Language=fr\n', '_redirects:1:', /Language= is not supported/],
  ['NL-O a Role= condition', '_redirects', '/admin/* /admin/:splat 200! Role=admin\n', '_redirects:1:', /Role= needs Netlify Identity/],
  ['NL-O a Cookie= condition', '_redirects', '/* /beta/:splat 302 Cookie=beta\n', '_redirects:1:', /Cookie= depends on cookies/],
  ['a splat that is not the last segment', '_redirects', '/a/*/b /c\n', '_redirects:1:', /'\*' may only be the last segment/],
  ['something after the status', '_redirects', '/a /b 301 extra\n', '_redirects:1:', /unexpected "extra" after the status/],
  ['a force mark apart from the status', '_redirects', '/a /b 301 !\n', '_redirects:1:', /without a space: 301!/],
  ['a target with characters a URL cannot hold', '_redirects', '/a /café\n', '_redirects:1:', /percent-encode them/],
  ['a domain-level rule with a port', '_redirects', 'https://a.example:8080/* /x\n', '_redirects:1:', /remove the port/],
  ['a 404 rule whose body is an absolute URL', '_redirects', '/x https://e.example/404.html 404\n', '_redirects:1:', /give a path of this site/],
  ['a line of more than 2,000 characters', '_redirects', `/a /${'b'.repeat(2000)}\n`, '_redirects:1:', /more than 2000; split the rule/],
  ['more than 10,000 rules', '_redirects', manyRules, '_redirects:10001:', /more than 10000 rules; use splats/],
  ['NL-H a field the server owns', '_headers', '/*\n  X-Frame-Options: DENY\n  Content-Length: 5\n', '_headers:3:', /Content-Length is set by the server/],
  ['NL-H another one: ETag', '_headers', '/*\n  etag: "x"\n', '_headers:2:', /etag is set by the server/],
  ['CF-H removing a field the server owns', '_headers', '/*\n  ! Date\n', '_headers:2:', /Date is set by the server/],
  ['an invalid field name (RFC 9110 section 5.1)', '_headers', '/*\n  Bad Name: x\n', '_headers:2:', /"Bad Name" is not a valid field name/],
  ['an invalid field value (RFC 9110 section 5.5)', '_headers', '/*\n  X-A: a\u0001b\n', '_headers:2:', /RFC 9110 section 5.5/],
  ['a non-ASCII field value', '_headers', '/*\n  X-A: café\n', '_headers:2:', /field value cannot hold/],
  ['NL-H a block without a path', '_headers', '  X-Frame-Options: DENY\n', '_headers:1:', /a header line before any path/],
  ['a header not indented under its path', '_headers', 'X-Frame-Options: DENY\n', '_headers:1:', /looks like a header without a path above it/],
  ['a field line without a colon', '_headers', '/*\n  Justtext\n', '_headers:2:', /is not "Name: value"/],
  ['a field without a value', '_headers', '/*\n  X-A:\n', '_headers:2:', /X-A has no value; give one, or remove the field with "! X-A"/],
  ['a path line with more on it', '_headers', '/* X-A: 1\n', '_headers:1:', /holds the path alone/],
  ['more than 1,000 header blocks', '_headers', manyBlocks, '_headers:2001:', /more than 1000 header blocks/],
  ['webroot.toml that is not TOML', 'webroot.toml', '[build]\nclean_urls = tru\n', 'webroot.toml:2:', /invalid value.*must be TOML/],
  ['webroot.toml with an unknown key', 'webroot.toml', '[build]\n# pretty\nprettyurls = true\n', 'webroot.toml:3:', /unknown key "prettyurls" in \[build\]; the keys are clean_urls, trailing_slash/],
  ['webroot.toml with a value of the wrong type', 'webroot.toml', '[build]\ntrailing_slash = 5\n', 'webroot.toml:2:', /trailing_slash must be one of "always", "never", "ignore"/],
  ['webroot.toml with an unknown section', 'webroot.toml', '[build]\nclean_urls = true\n[deploy]\nx = 1\n', 'webroot.toml:3:', /unknown section or key "deploy"/],
  ['a rules file that is not UTF-8', '_redirects', Buffer.from([0x2f, 0x61, 0x20, 0x2f, 0xff, 0x0a]), '_redirects:', /not valid UTF-8; save it as UTF-8/],
];

describe('mkroot build refuses bad site rules: FILE:LINE, one line, exit 1, no output file', () => {
  it.concurrent.each(BAD)('%s', async (_name, file, content, where, message) => {
    const src = writeTree(tmpDir('rules-src-'), { ...SITE, [file]: content });
    const out = tmpDir('rules-out-');
    const r = await mkroot(['build', src, path.join(out, 'site.webroot')]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`mkroot: ${path.join(src, where)}`);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('an unknown --trailing-slash policy is refused before anything is written', async () => {
    const src = writeTree(tmpDir('rules-src-'), SITE);
    const out = tmpDir('rules-out-');
    const r = await mkroot(['build', src, path.join(out, 'site.webroot'), '--trailing-slash', 'sometimes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--trailing-slash <policy>' argument 'sometimes' is invalid. Allowed choices are always, never, ignore/);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

const REDIRECTS = `# NL-R examples
/home              /
/news/*            /blog/:splat
/store id=:id      /products/:id   302
/app/*             /app/index.html 200
/about.html        /elsewhere      301
/docs/             /never          301!
https://old.example.com/* https://example.com/:splat 301!
`;
const HEADERS = `/*
  X-Frame-Options: DENY
/app/*
  Cache-Control: public, max-age=60
  ! X-Frame-Options
`;

describe('mkroot rules, test-rules, diff', () => {
  const src = writeTree(tmpDir('rules-src-'), { ...SITE, 'app/index.html': '<p>app</p>\n', _redirects: REDIRECTS, _headers: HEADERS, 'webroot.toml': '[build]\nclean_urls = true\n' });
  const dir = tmpDir('rules-out-');
  const file = path.join(dir, 'site.webroot');

  it('build packs the rules, not the rule files; the same tree and rules give a byte-identical file', async () => {
    expect((await mkroot(['build', '-q', src, file])).code).toBe(0);
    const again = path.join(dir, 'again.webroot');
    expect((await mkroot(['build', '-q', src, again])).code).toBe(0);
    expect(fs.readFileSync(file).equals(fs.readFileSync(again))).toBe(true);
    const ls = JSON.parse((await mkroot(['ls', '--json', file])).stdout) as { path: string }[];
    expect(ls.map((e) => e.path)).toEqual(['/', '/about.html', '/app', '/app/index.html', '/docs', '/docs/index.html', '/index.html']);
    expect((await mkroot(['verify', file])).code).toBe(0);
  });

  it('rules prints the compiled rules in order with their source lines; --json too', async () => {
    const r = await mkroot(['rules', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'build: clean-urls on, trailing-slash always',
        '_redirects: 7 rules',
        '      2  /home              /',
        '      3  /news/*            /blog/:splat',
        '      4  /store id=:id      /products/:id   302',
        '      5  /app/*             /app/index.html 200',
        '      6  /about.html        /elsewhere      301',
        '      7  /docs/             /never          301!',
        '      8  https://old.example.com/* https://example.com/:splat 301!',
        '_headers: 2 blocks',
        '      1  /*',
        '      2    X-Frame-Options: DENY',
        '      3  /app/*',
        '      4    Cache-Control: public, max-age=60',
        '      5    ! X-Frame-Options',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await mkroot(['rules', '--json', file])).stdout);
    expect(json.options).toEqual({ cleanUrls: true, trailingSlash: 'always' });
    expect(json.redirects[2]).toEqual({ line: 4, source: '/store id=:id      /products/:id   302', host: null, from: '/store', query: ['id=:id'], to: '/products/:id', status: 302, force: false });
    expect(json.headers[1].fields).toEqual([{ line: 4, name: 'Cache-Control', value: 'public, max-age=60' }, { line: 5, name: 'X-Frame-Options', value: null }]);
  });

  it('test-rules says what the server would answer and which rule or file decided', async () => {
    const r = await mkroot(['test-rules', '--json', file, '/news/a/b?x=1', '/store?id=9', '/app/deep/link', '/about.html', '/docs/', 'http://old.example.com/p', '/missing']);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout) as { url: string; status: number; location: string | null; decidedBy: string; file: string | null; fields: [string, string][] }[];
    expect(t.map((x) => [x.url, x.status, x.location, x.file, x.decidedBy])).toEqual([
      ['/news/a/b?x=1', 301, '/blog/a/b?x=1', null, '_redirects:3: /news/*            /blog/:splat'],
      ['/store?id=9', 302, '/products/9', null, '_redirects:4: /store id=:id      /products/:id   302'],
      ['/app/deep/link', 200, null, '/app/index.html', '_redirects:5: /app/*             /app/index.html 200'],
      ['/about.html', 308, '/about', null, 'clean-url policy'], // shadowed: the file exists, and clean URLs make /about canonical
      ['/docs/', 301, '/never', null, '_redirects:7: /docs/             /never          301!'],
      ['http://old.example.com/p', 301, 'https://example.com/p', null, '_redirects:8: https://old.example.com/* https://example.com/:splat 301!'],
      ['/missing', 404, null, null, 'not found'],
    ]);
    expect(t[2]!.fields).toEqual([['Cache-Control', 'public, max-age=60']]);
    expect(t[0]!.fields).toEqual([['X-Frame-Options', 'DENY']]);
    const text = await mkroot(['test-rules', file, '/home']);
    expect(text.stdout).toBe('/home\n  301 -> /\n  decided by _redirects:2: /home              /\n  X-Frame-Options: DENY\n');
  });

  it('CF-H test-rules shows _headers values with the placeholders of the path substituted, URI-encoded', async () => {
    const placed = writeTree(tmpDir('rules-src-'), { 'index.html': '<p>home</p>\n', _headers: '/movies/:title\n  X-Movie-Name: You are watching ":title"\n/img/*\n  Link: <https://cdn.example/:splat>; rel=canonical\n' });
    const out = path.join(dir, 'placed.webroot');
    expect((await mkroot(['build', '-q', placed, out])).code).toBe(0);
    const r = await mkroot(['test-rules', '--json', out, '/movies/star%20wars', '/img/a/b.png']);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout) as { fields: [string, string][] }[];
    expect(t.map((x) => x.fields)).toEqual([[['X-Movie-Name', 'You are watching "star%20wars"']], [['Link', '<https://cdn.example/a/b.png>; rel=canonical']]]);
  });

  it('flags win over webroot.toml; diff reports rules added, removed and changed', async () => {
    const src2 = writeTree(tmpDir('rules-src-'), {
      ...SITE,
      'app/index.html': '<p>app</p>\n',
      _redirects: REDIRECTS.replace('/store id=:id      /products/:id   302', '/store id=:id /products/:id 307').replace('/home              /\n', '/new-rule /x 302\n'),
      _headers: HEADERS,
      'webroot.toml': '[build]\nclean_urls = true\n',
    });
    const file2 = path.join(dir, 'site2.webroot');
    expect((await mkroot(['build', '-q', src2, file2, '--no-clean-urls', '--trailing-slash', 'never'])).code).toBe(0);
    const r = await mkroot(['diff', file, file2]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '+ _redirects /new-rule /x 302',
        '- _redirects /home / 301',
        '~ _redirects /store id=:id: /products/:id 302 -> /products/:id 307',
        '~ build clean-urls: on -> off',
        '~ build trailing-slash: always -> never',
        '0 added, 0 removed, 0 changed',
        'rules: 1 added, 1 removed, 3 changed',
        '',
      ].join('\n'),
    );
  });

  it('a site without rule files packs as before, with no rules', async () => {
    const plain = path.join(dir, 'plain.webroot');
    expect((await mkroot(['build', '-q', writeTree(tmpDir('rules-src-'), SITE), plain])).code).toBe(0);
    expect((await mkroot(['rules', plain])).stdout).toBe('build: clean-urls off, trailing-slash always\n_redirects: 0 rules\n_headers: 0 blocks\n');
  });
});
