/**
 * evaluateRules, table-tested without sockets: a fake site index and rules
 * parsed from text the way mkroot does. Case names cite where the behaviour
 * comes from: Netlify's redirects docs (NL-R: https://docs.netlify.com/routing/redirects/,
 * NL-O: .../redirect-options/, NL-RP: .../rewrites-proxies/), Netlify headers
 * (NL-H: https://docs.netlify.com/routing/headers/), Cloudflare Pages
 * (CF-H: https://developers.cloudflare.com/pages/configuration/headers/,
 * CF-S: https://developers.cloudflare.com/pages/configuration/serving-pages/).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUILD_OPTIONS, compileRules, evaluateRules, type BuildOptions, type HeaderBlock, type RedirectRule, type SiteIndex } from '../src/index.js';

const FILES = ['/index.html', '/about.html', '/404.html', '/docs/index.html', '/docs/404.html', '/docs/guide.html', '/docs/a/page.html', '/blog/2024-05.html', '/assets/app.js', '/app/index.html', '/gone.html', '/legal.html', '/café.html', '/empty/x.txt'];
const DIRS = ['/', '/docs', '/docs/a', '/blog', '/assets', '/app', '/empty', '/nodir'];
const index: SiteIndex = { kindOf: (p) => (FILES.includes(p) ? 'file' : DIRS.includes(p) ? 'directory' : undefined) };

/** A minimal _redirects reader for the tables (mkroot's parser is tested through the CLI). */
function rule(line: number, text: string): RedirectRule {
  const t = text.split(/\s+/);
  let from = t[0]!;
  let host: string | undefined;
  const abs = /^https?:\/\/([^/]+)(.*)$/.exec(from);
  if (abs) [host, from] = [abs[1]!, abs[2] || '/'];
  let i = 1;
  const query = [];
  while (t[i] && !t[i]!.startsWith('/') && !t[i]!.startsWith('http') && t[i]!.includes('=')) {
    const [key, value] = t[i]!.split('=') as [string, string];
    query.push({ key, value });
    i++;
  }
  const to = t[i++]!;
  const st = t[i] ?? '301';
  return { line, source: text, ...(host ? { host } : {}), from, query, to, status: Number(st.replace('!', '')) as RedirectRule['status'], force: st.endsWith('!') };
}

function evaluate(redirects: string[], url: string, opts: { headers?: HeaderBlock[]; options?: Partial<BuildOptions>; autoindex?: boolean; host?: string } = {}) {
  const c = compileRules({ redirects: redirects.map((r, i) => rule(i + 1, r)), headers: opts.headers ?? [], options: { ...DEFAULT_BUILD_OPTIONS, ...opts.options } });
  const q = url.indexOf('?');
  return evaluateRules(c, { host: opts.host ?? 'example.com', path: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q) }, index, { autoindex: opts.autoindex ?? false });
}

type Expect = { status: number; location?: string; file?: string; line?: number };
function outcome(e: ReturnType<typeof evaluate>): Expect {
  const d = e.decision;
  const line = 'rule' in d && d.rule ? { line: d.rule.line } : {};
  if (d.kind === 'redirect') return { status: d.status, location: d.location, ...line };
  if (d.kind === 'file') return { status: d.status, file: d.path, ...line };
  if (d.kind === 'listing') return { status: 200, file: `listing ${d.dir}` };
  return { status: d.status, ...(d.page ? { file: d.page } : {}), ...line };
}

describe('evaluateRules: _redirects', () => {
  const cases: [string, string[], string, Expect, { host?: string; options?: Partial<BuildOptions> }?][] = [
    ['NL-R: a rule without status is a 301', ['/home /'], '/home', { status: 301, location: '/', line: 1 }],
    ['NL-R: each redirect status', ['/a /x 302', '/b /x 303', '/c /x 307', '/d /x 308'], '/c', { status: 307, location: '/x', line: 3 }],
    ['NL-R: first match wins, in file order', ['/old /first', '/old /second'], '/old', { status: 301, location: '/first', line: 1 }],
    ['NL-R: a path matches with or without a trailing slash', ['/old /new'], '/old/', { status: 301, location: '/new', line: 1 }],
    ['NL-R splats: /news/* -> /blog/:splat', ['/news/* /blog/:splat'], '/news/2004/01/10/my-story', { status: 301, location: '/blog/2004/01/10/my-story', line: 1 }],
    ['splat matches the directory itself with an empty :splat (we document it)', ['/news/* /blog/:splat'], '/news', { status: 301, location: '/blog/', line: 1 }],
    ['NL-R placeholders: /news/:year/:month/:date/:slug', ['/news/:year/:month/:date/:slug /blog/:year/:month/:date/:slug'], '/news/2024/02/12/x', { status: 301, location: '/blog/2024/02/12/x', line: 1 }],
    ['placeholders bind one segment only', ['/news/:year /y/:year'], '/news/2024/extra', { status: 404, file: '/404.html' }],
    ['placeholder values are percent-encoded into Location', ['/u/:name /people/:name'], '/u/jo é', { status: 301, location: '/people/jo%20%C3%A9', line: 1 }],
    ['NL-R query parameters: /store id=:id /blog/:id', ['/store id=:id /blog/:id 301'], '/store?id=7', { status: 301, location: '/blog/7', line: 1 }],
    ['NL-R query parameters: the rule does not match without the key', ['/store id=:id /blog/:id 301'], '/store', { status: 404, file: '/404.html' }],
    ['NL-R query parameters: several conditions, all required', ['/a x=:x y=:y /b/:x/:y'], '/a?y=2&x=1', { status: 301, location: '/b/1/2', line: 1 }],
    ['a literal query condition must be equal', ['/a lang=fr /fr 302'], '/a?lang=de', { status: 404, file: '/404.html' }],
    ['NL-O query string passthrough: the request query is appended', ['/old /new 301'], '/old?utm=1&b=2', { status: 301, location: '/new?utm=1&b=2', line: 1 }],
    ['no passthrough when the rule matched query parameters', ['/store id=:id /blog/:id 301'], '/store?id=7&x=1', { status: 301, location: '/blog/7', line: 1 }],
    ['no passthrough when TO has its own query', ['/old /new?a=1 302'], '/old?b=2', { status: 302, location: '/new?a=1', line: 1 }],
    ['NL-R absolute targets', ['/ext https://example.org/x 302'], '/ext', { status: 302, location: 'https://example.org/x', line: 1 }],
    ['NL-RP shadowing: a rule does not apply over an existing file', ['/about.html /elsewhere 301'], '/about.html', { status: 200, file: '/about.html' }],
    ['NL-RP shadowing: nor over a directory index', ['/docs/ /elsewhere 301'], '/docs/', { status: 200, file: '/docs/index.html' }],
    ['NL-RP shadowing: a directory without its slash is shadowed too', ['/docs /elsewhere 301'], '/docs', { status: 301, location: '/docs/' }],
    ['NL-RP shadowing: ! forces the rule over the file', ['/about.html /elsewhere 301!'], '/about.html', { status: 301, location: '/elsewhere', line: 1 }],
    ['a shadowed rule lets a later forced one apply', ['/about.html /one 301', '/about.html /two 302!'], '/about.html', { status: 302, location: '/two', line: 2 }],
    ['NL-RP SPA: /* /index.html 200 serves existing assets as themselves', ['/* /index.html 200'], '/assets/app.js', { status: 200, file: '/assets/app.js' }],
    ['NL-RP SPA: /* /index.html 200 gives the app shell for unknown paths', ['/* /index.html 200'], '/some/client/route', { status: 200, file: '/index.html', line: 1 }],
    ['NL-RP rewrites are one hop: the target is not matched again', ['/a /b 200', '/b /about.html 200'], '/a', { status: 404, file: '/404.html', line: 1 }],
    ['a rewrite to a directory serves its index', ['/app/* /app/ 200'], '/app/x/y', { status: 200, file: '/app/index.html', line: 1 }],
    ['a rewrite with placeholders', ['/posts/:y/:m /blog/:y-:m.html 200'], '/posts/2024/05', { status: 200, file: '/blog/2024-05.html', line: 1 }],
    ['a rewrite cannot climb out of the site with ..', ['/p/* /x/../../:splat 200'], '/p/a', { status: 404, file: '/404.html', line: 1 }],
    ['NL-R custom 404: /en/* /en/404.html 404, body of TO', ['/docs/* /docs/404.html 404'], '/docs/nothing', { status: 404, file: '/docs/404.html', line: 1 }],
    ['NL-R 410 with a body file', ['/old /gone.html 410'], '/old', { status: 410, file: '/gone.html', line: 1 }],
    ['a 410 whose TO is not a file has the plain body', ['/old /missing.html 410'], '/old', { status: 410, line: 1 }],
    ['451 forced over an existing file', ['/about.html /legal.html 451!'], '/about.html', { status: 451, file: '/legal.html', line: 1 }],
    ['NL-R domain-level rules match the request host', ['https://old.example/* https://new.example/:splat 301!'], '/a/b', { status: 301, location: 'https://new.example/a/b', line: 1 }, { host: 'old.example' }],
    ['NL-R domain-level rules do not match other hosts', ['https://old.example/* https://new.example/:splat 301!'], '/about.html', { status: 200, file: '/about.html' }, { host: 'example.com' }],
    ['literal segments of FROM are percent-decoded', ['/caf%C3%A9 /coffee 301'], '/café', { status: 301, location: '/coffee', line: 1 }],
  ];
  it.each(cases)('%s', (_name, rules, url, expected, opts) => {
    expect(outcome(evaluate(rules, url, opts ?? {}))).toEqual(expected);
  });
});

describe('evaluateRules: static lookup, clean URLs, trailing slash, nearest 404', () => {
  const cases: [string, string, Partial<BuildOptions>, Expect, boolean?][] = [
    ['a file', '/about.html', {}, { status: 200, file: '/about.html' }],
    ['always (default): /dir -> 301 /dir/, query kept', '/docs?x=1', {}, { status: 301, location: '/docs/?x=1' }],
    ['always: /dir/ serves the index', '/docs/', {}, { status: 200, file: '/docs/index.html' }],
    ['always: a file with a trailing slash is not found', '/about.html/', {}, { status: 404, file: '/404.html' }],
    ['never: /dir/ -> 308 /dir', '/docs/', { trailingSlash: 'never' }, { status: 308, location: '/docs' }],
    ['never: /dir serves the index', '/docs', { trailingSlash: 'never' }, { status: 200, file: '/docs/index.html' }],
    ['never: /file/ -> 308 /file', '/about.html/', { trailingSlash: 'never' }, { status: 308, location: '/about.html' }],
    ['ignore: /dir and /dir/ both serve the index', '/docs', { trailingSlash: 'ignore' }, { status: 200, file: '/docs/index.html' }],
    ['ignore: /dir/ too', '/docs/', { trailingSlash: 'ignore' }, { status: 200, file: '/docs/index.html' }],
    ['CF-S clean URLs: /about serves /about.html', '/about', { cleanUrls: true }, { status: 200, file: '/about.html' }],
    ['CF-S clean URLs: /about.html -> 308 /about, query kept', '/about.html?q=1', { cleanUrls: true }, { status: 308, location: '/about?q=1' }],
    ['CF-S clean URLs: /docs/index.html -> 308 /docs/', '/docs/index.html', { cleanUrls: true }, { status: 308, location: '/docs/' }],
    ['clean URLs with never: /docs/index.html -> 308 /docs', '/docs/index.html', { cleanUrls: true, trailingSlash: 'never' }, { status: 308, location: '/docs' }],
    ['clean URLs: /index.html -> 308 /', '/index.html', { cleanUrls: true }, { status: 308, location: '/' }],
    ['clean URLs: /about/ -> 308 /about', '/about/', { cleanUrls: true }, { status: 308, location: '/about' }],
    ['clean URLs with ignore: /about/ serves /about.html', '/about/', { cleanUrls: true, trailingSlash: 'ignore' }, { status: 200, file: '/about.html' }],
    ['clean URLs off: /about is not found', '/about', {}, { status: 404, file: '/404.html' }],
    ['non-ASCII clean URL redirects are percent-encoded', '/café.html', { cleanUrls: true }, { status: 308, location: '/caf%C3%A9' }],
    ['CF-S nearest 404: /docs/a/b gets /docs/404.html', '/docs/a/b', {}, { status: 404, file: '/docs/404.html' }],
    ['CF-S nearest 404: /docs/missing/ gets /docs/404.html', '/docs/missing/', {}, { status: 404, file: '/docs/404.html' }],
    ['CF-S nearest 404: elsewhere /404.html', '/blog/missing', {}, { status: 404, file: '/404.html' }],
    ['a directory without index and no autoindex is not found', '/nodir/', {}, { status: 404, file: '/404.html' }],
    ['with autoindex it is a listing', '/nodir/', {}, { status: 200, file: 'listing /nodir' }, true],
  ];
  it.each(cases)('%s', (_name, url, options, expected, autoindex) => {
    expect(outcome(evaluate([], url, { options, autoindex: autoindex ?? false }))).toEqual(expected);
  });

  it('no 404.html anywhere: the plain body', () => {
    const c = compileRules({ redirects: [], headers: [], options: DEFAULT_BUILD_OPTIONS });
    const bare: SiteIndex = { kindOf: (p) => (p === '/' ? 'directory' : undefined) };
    expect(evaluateRules(c, { host: '', path: '/x/y', query: '' }, bare, { autoindex: false }).decision).toEqual({ kind: 'not-found', status: 404 });
  });
});

describe('evaluateRules: _headers', () => {
  const set = (line: number, name: string, value: string) => ({ op: 'set' as const, line, name, value });
  const blocks: HeaderBlock[] = [
    { line: 1, pattern: '/*', ops: [set(2, 'X-Frame-Options', 'DENY'), set(3, 'Link', '</a.css>; rel=preload')] },
    { line: 4, pattern: '/assets/*', ops: [set(5, 'Cache-Control', 'public, max-age=31536000, immutable'), set(6, 'Link', '</b.js>; rel=preload')] },
    { line: 7, pattern: '/embed/:id', ops: [{ op: 'remove', line: 8, name: 'x-frame-options' }, set(9, 'Set-Cookie', 'a=1'), set(10, 'Set-Cookie', 'b=2')] },
    { line: 11, host: 'cdn.example', pattern: '/*', ops: [set(12, 'Access-Control-Allow-Origin', '*')] },
  ];
  const fields = (url: string, host = 'example.com') => evaluate([], url, { headers: blocks, host }).fields;
  it.each([
    ['NL-H every matching block applies, in order; a repeated name joins with ", "', '/assets/app.js', 'example.com', [['X-Frame-Options', 'DENY'], ['Link', '</a.css>; rel=preload, </b.js>; rel=preload'], ['Cache-Control', 'public, max-age=31536000, immutable']]],
    ['CF-H "! Name" removes a field an earlier block set (case-insensitive); Set-Cookie is never joined', '/embed/7', 'example.com', [['Link', '</a.css>; rel=preload'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]],
    ['CF-H absolute URL blocks apply to their host only', '/x', 'cdn.example', [['X-Frame-Options', 'DENY'], ['Link', '</a.css>; rel=preload'], ['Access-Control-Allow-Origin', '*']]],
    ['a path that no block matches... is matched by /*', '/about.html', 'example.com', [['X-Frame-Options', 'DENY'], ['Link', '</a.css>; rel=preload']]],
  ])('%s', (_name, url, host, expected) => {
    expect(fields(url, host)).toEqual(expected);
  });

  describe('CF-H placeholders and splats in values ("the matched value can be used in the header values")', () => {
    const placed: HeaderBlock[] = [
      { line: 1, pattern: '/movies/:title', ops: [set(2, 'x-movie-name', 'You are watching ":title"')] },
      { line: 3, pattern: '/images/*', ops: [set(4, 'Link', '<https://cdn.example/:splat>; rel=canonical'), set(5, 'X-Note', 'a:b :titles :splat-x')] },
      { line: 6, pattern: '/u/:user/*', ops: [set(7, 'X-Owner', ':user'), set(8, 'X-Rest', ':splat')] },
      { line: 9, pattern: '/*', ops: [set(10, 'X-All', 'path :splat')] },
    ];
    const placedFields = (url: string) => evaluate([], url, { headers: placed }).fields;
    it.each([
      ['CF-H placeholders: /movies/:title -> x-movie-name: You are watching ":title"', '/movies/jaws', [['x-movie-name', 'You are watching "jaws"'], ['X-All', 'path movies/jaws']]],
      ['CF-H splats: :splat in a value is what * matched, slashes kept', '/images/a/b.png', [['Link', '<https://cdn.example/a/b.png>; rel=canonical'], ['X-Note', 'a:b :titles a/b.png-x'], ['X-All', 'path images/a/b.png']]],
      ['a value is URI-encoded as in a Location: no space, quote, CR or LF reaches the field', '/movies/a "b"\r\nX-Evil: 1', [['x-movie-name', 'You are watching "a%20%22b%22%0D%0AX-Evil:%201"'], ['X-All', 'path movies/a%20%22b%22%0D%0AX-Evil:%201']]],
      ['non-ASCII segments are percent-encoded UTF-8', '/movies/café', [['x-movie-name', 'You are watching "caf%C3%A9"'], ['X-All', 'path movies/caf%C3%A9']]],
      ['several placeholders of one block; an empty splat leaves no trailing space', '/u/ann', [['X-Owner', 'ann'], ['X-Rest', ''], ['X-All', 'path u/ann']]],
      ['a :word the pattern does not bind stays text', '/u/ann/x/y', [['X-Owner', 'ann'], ['X-Rest', 'x/y'], ['X-All', 'path u/ann/x/y']]],
    ])('%s', (_name, url, expected) => {
      expect(placedFields(url)).toEqual(expected);
    });

    it('the root matched by /* binds an empty splat, trimmed', () => {
      expect(placedFields('/')).toEqual([['X-All', 'path']]);
    });
  });

  it('fields follow the requested path, also on redirects and rewrites', () => {
    const e = evaluate(['/* /index.html 200'], '/assets/missing.js', { headers: blocks });
    expect(e.decision).toMatchObject({ kind: 'file', path: '/index.html', how: 'rewrite' });
    expect(e.fields.map((f) => f[0])).toEqual(['X-Frame-Options', 'Link', 'Cache-Control']);
  });
});

describe('the matcher', () => {
  it('2,000 rules: exact paths by map, patterns by first segment; the right rule, in file order', () => {
    const rules = Array.from({ length: 1900 }, (_, i) => `/old/page-${i} /new/page-${i} 301`);
    for (let i = 0; i < 100; i++) rules.push(`/cat-${i}/:slug/* /c/${i}/:slug/:splat 302`);
    rules.push('/* /index.html 200');
    expect(outcome(evaluate(rules, '/old/page-1234'))).toEqual({ status: 301, location: '/new/page-1234', line: 1235 });
    expect(outcome(evaluate(rules, '/cat-42/x/y/z'))).toEqual({ status: 302, location: '/c/42/x/y/z', line: 1943 });
    expect(outcome(evaluate(rules, '/nowhere'))).toEqual({ status: 200, file: '/index.html', line: 2001 });
    expect(outcome(evaluate(rules, '/about.html'))).toEqual({ status: 200, file: '/about.html' });
  });

  it('an earlier pattern beats a later exact path', () => {
    expect(outcome(evaluate(['/a/* /first 302', '/a/b /second 302'], '/a/b'))).toEqual({ status: 302, location: '/first', line: 1 });
  });
});
