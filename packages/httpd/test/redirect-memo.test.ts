/**
 * A site's memo of redirects (Site.redirects, used by resolvePath) and the head
 * cache keyed by a memoised redirect (RepresentationCache): a rule hit costs a
 * map lookup and a cached head, and no request can get another's Location.
 */
import { DEFAULT_BUILD_OPTIONS, type RedirectRule, type SiteRules } from '@webroot/format';
import { describe, expect, it } from 'vitest';
import { RepresentationCache } from '../src/http/representation-cache.js';
import { representResource } from '../src/http/represent.js';
import { resolvePath } from '../src/http/resolve.js';
import type { HttpResponse, Resource } from '../src/http/response.js';
import { serializeHead } from '../src/server/serialize-http1.js';
import { fakeFile, fakeSite, request } from './helpers/fake-site.js';

const rule = (line: number, from: string, to: string, status: RedirectRule['status'], host?: string): RedirectRule => ({ line, source: `${from} ${to} ${status}`, host, from, query: [], to, status, force: false });
const RULES: SiteRules = {
  redirects: [rule(1, '/old', '/new', 301), rule(2, '/blog/:slug', '/posts/:slug', 302), rule(3, '/moved', 'https://elsewhere.example/', 301, 'old.example')],
  headers: [],
  options: DEFAULT_BUILD_OPTIONS,
};
const site = () => fakeSite([fakeFile('/index.html', 10), fakeFile('/docs/index.html', 10)], '__default__', RULES);
const config = { autoindex: false };
const location = (r: Resource) => (r.kind === 'redirect' ? r.location : `(${r.kind})`);

describe('Site.redirects: the memo of decided redirects', () => {
  it('the same request gets the same resource; another query, path or status its own Location', () => {
    const s = site();
    const a = resolvePath(s, 'example.test', '/old', '?a=1', config);
    expect(a).toMatchObject({ kind: 'redirect', status: 301, location: '/new?a=1', memoised: true });
    expect(resolvePath(s, 'example.test', '/old', '?a=1', config)).toBe(a);
    expect(location(resolvePath(s, 'example.test', '/old', '?b=2', config))).toBe('/new?b=2');
    expect(location(resolvePath(s, 'example.test', '/old', '', config))).toBe('/new');
    expect(location(resolvePath(s, 'example.test', '/blog/x', '', config))).toBe('/posts/x');
    expect(location(resolvePath(s, 'example.test', '/blog/y', '', config))).toBe('/posts/y');
    expect(location(resolvePath(s, 'example.test', '/old', '?a=1', config))).toBe('/new?a=1');
  });

  it('a domain-level rule puts the host in the key: one host\'s redirect is not another\'s', () => {
    const s = site();
    expect(location(resolvePath(s, 'old.example', '/moved', '', config))).toBe('https://elsewhere.example/');
    expect(resolvePath(s, 'example.test', '/moved', '', config)).toMatchObject({ kind: 'not-found' });
    expect(location(resolvePath(s, 'old.example', '/moved', '', config))).toBe('https://elsewhere.example/');
  });

  it('the mount prefix and the autoindex setting are part of the key', () => {
    const s = site();
    expect(location(resolvePath(s, 'example.test', '/old', '', config, '/docs/'))).toBe('/docs/new');
    expect(location(resolvePath(s, 'example.test', '/old', '', config))).toBe('/new');
    expect(location(resolvePath(s, 'example.test', '/docs', '', { autoindex: true }))).toBe('/docs/');
    expect(resolvePath(s, 'example.test', '/docs', '', config)).not.toBe(resolvePath(s, 'example.test', '/docs', '', { autoindex: true }));
  });

  it('a site without redirect rules keeps no memo (its /dir -> /dir/ costs no rule evaluation)', () => {
    const plain = fakeSite([fakeFile('/docs/index.html', 10)]);
    const r = resolvePath(plain, 'example.test', '/docs', '', config);
    expect(r).toMatchObject({ kind: 'redirect', location: '/docs/', memoised: false });
    expect(plain.redirects.size).toBe(0);
  });

  it('stays bounded: a client choosing query strings only pushes the oldest out', () => {
    const s = site();
    for (let i = 0; i < s.redirects.capacity + 10; i++) resolvePath(s, 'example.test', '/old', `?n=${i}`, config);
    expect(s.redirects.size).toBe(s.redirects.capacity);
  });
});

describe('RepresentationCache: a memoised redirect reuses its head', () => {
  const counting = () => {
    let builds = 0;
    const cache = new RepresentationCache<string>((res: HttpResponse) => {
      builds++;
      return serializeHead(res);
    });
    return { head: (res: HttpResponse) => cache.get(res), builds: () => builds };
  };

  it('GET and HEAD of one memoised redirect build one head; another Location builds its own', () => {
    const s = site();
    const c = counting();
    const now = Math.floor(Date.now() / 1000);
    const get = representResource(resolvePath(s, 'example.test', '/old', '?a=1', config), request('/old?a=1'), { cacheControl: '' }, now);
    const head = representResource(resolvePath(s, 'example.test', '/old', '?a=1', config), request('/old?a=1', { method: 'HEAD' }), { cacheControl: '' }, now);
    const first = c.head(get);
    expect(first).toContain('Location: /new?a=1\r\n');
    expect(c.head(head)).toBe(first);
    expect(head.body).toEqual([]);
    expect(c.builds()).toBe(1);
    const other = representResource(resolvePath(s, 'example.test', '/old', '?b=2', config), request('/old?b=2'), { cacheControl: '' }, now);
    expect(c.head(other)).toContain('Location: /new?b=2\r\n');
    expect(c.builds()).toBe(2);
  });

  it('a redirect that is not memoised carries no cache key (built each time)', () => {
    const plain = fakeSite([fakeFile('/docs/index.html', 10)]);
    const res = representResource(resolvePath(plain, 'example.test', '/docs', '', config), request('/docs'), { cacheControl: '' }, 0);
    expect(res.cacheKey).toBeUndefined();
  });
});
