import { describe, expect, it } from 'vitest';
import { encodePath, resolveRequest, type SiteLookup } from '../src/http/resolve.js';
import type { Resource } from '../src/http/response.js';
import type { Site, UnavailableSite } from '../src/vhosts/site.js';
import { fakeFile, fakeSite, request } from './helpers/fake-site.js';

const site = fakeSite([
  fakeFile('/index.html', 100),
  fakeFile('/guide/index.html', 50),
  fakeFile('/docs/a.html', 10),
  fakeFile('/404.html', 20),
  fakeFile('/café/index.html', 5),
  fakeFile('/a b/index.html', 5),
]);
const bare = fakeSite([fakeFile('/x.txt', 1)], 'bare.test');
const broken: UnavailableSite = { kind: 'unavailable', name: 'broken.test', reason: 'corrupt' };
const sites: SiteLookup = {
  lookup: (host: string): Site | UnavailableSite | undefined => (host === 'broken.test' ? broken : host === 'bare.test' ? bare : host === 'none.test' ? undefined : site),
};
const resolve = (target: string, fields = {}, autoindex = false) => resolveRequest(request(target, fields), sites, { autoindex });

function summary(r: Resource): string {
  switch (r.kind) {
    case 'file':
      return `file ${r.entry.path} ${r.status}`;
    case 'redirect':
      return `redirect ${r.status} ${r.location}`;
    case 'not-found':
      return `not-found ${r.page?.path ?? '-'}`;
    case 'listing':
      return `listing ${r.dir}`;
    case 'error':
      return `error ${r.status}${r.close ? ' close' : ''}`;
    case 'options':
      return 'options';
  }
}

describe('resolveRequest', () => {
  it.each([
    ['/', 'file /index.html 200'],
    ['/index.html', 'file /index.html 200'],
    ['/guide/', 'file /guide/index.html 200'],
    ['/guide', 'redirect 301 /guide/'],
    ['/guide?x=1&y', 'redirect 301 /guide/?x=1&y'],
    ['/docs/', 'not-found /404.html'],
    ['/nope', 'not-found /404.html'],
    ['/index.html/', 'not-found /404.html'],
    ['/caf%C3%A9', 'redirect 301 /caf%C3%A9/'],
    ['/a%20b', 'redirect 301 /a%20b/'],
    ['/../etc/passwd', 'error 400 close'],
    ['/%2e%2e/x', 'error 400 close'],
    ['/a%00b', 'error 400 close'],
    ['*', 'error 400 close'],
  ])('GET %s -> %s', (target, expected) => {
    expect(summary(resolve(target))).toBe(expected);
  });

  // Issue 9, item 1: the normalised path makes the Location, never the raw target. A Location starting with
  // '//' or '/\' is a network-path reference a browser resolves to another origin (RFC 3986 section 4.2).
  it.each([
    ['//evil.example/..%2fguide', '/guide/'],
    ['//evil.example/..%2fguide?q=1', '/guide/?q=1'],
    ['//guide', '/guide/'],
    ['/\\evil.example/..%2fguide', '/guide/'],
    ['/%2fevil.example/..%2fguide', '/guide/'],
    ['/%5cevil.example/..%2fguide?a=b', '/guide/?a=b'],
    ['/./guide', '/guide/'],
  ])('open redirect: GET %s redirects to the normalised %s (RFC 9110 section 10.2.2)', (target, location) => {
    const r = resolve(target);
    expect(r).toMatchObject({ kind: 'redirect', status: 301, location });
    expect((r as { location: string }).location).not.toMatch(/^\/[/\\]/);
  });

  it('encodePath percent-encodes everything outside pchar and never yields a leading //', () => {
    expect(encodePath('/a b/c\\d/é?#%')).toBe('/a%20b/c%5Cd/%C3%A9%3F%23%25');
    expect(encodePath('/plain-path_~.txt')).toBe('/plain-path_~.txt');
  });

  it.each([
    [{ method: 'OPTIONS' }, 'options'],
    [{ method: 'POST' }, 'error 405'],
    [{ method: 'DELETE' }, 'error 405'],
    [{ method: 'HEAD' }, 'file /index.html 200'],
  ])('method %o -> %s (RFC 9110 section 9)', (fields, expected) => {
    expect(summary(resolve('/', fields))).toBe(expected);
  });

  it.each([
    [{ authority: undefined, hostCount: 0 }, 'error 400 close'],
    [{ authority: undefined, hostCount: 0, minor: 2 }, 'error 400 close'],
    [{ authority: undefined, hostCount: 0, minor: 0 }, 'file /index.html 200'],
    [{ hostCount: 2 }, 'error 400 close'],
    [{ authority: 'bad host' }, 'error 400 close'],
  ])('Host rules (RFC 9112 section 3.2): %o -> %s', (fields, expected) => {
    expect(summary(resolve('/', fields))).toBe(expected);
  });

  it('absolute-form: the authority replaces Host (RFC 9112 section 3.2.2)', () => {
    expect(summary(resolve('http://bare.test/x.txt', { authority: 'example.test' }))).toBe('file /x.txt 200');
  });

  it('an entry that exists but cannot be served is a 503 with Retry-After, never another site (issue 9, item 7)', () => {
    expect(resolve('/', { authority: 'broken.test' })).toEqual({ kind: 'error', status: 503, extra: [['Retry-After', '5']] });
  });

  it('no site at all, and a site without a 404 page', () => {
    expect(summary(resolve('/', { authority: 'none.test' }))).toBe('not-found -');
    expect(summary(resolve('/missing', { authority: 'bare.test' }))).toBe('not-found -');
  });

  it('autoindex lists a directory without index.html', () => {
    const r = resolve('/docs/', {}, true);
    expect(summary(r)).toBe('listing /docs');
    expect(r.kind === 'listing' && r.entries.map((e) => e.path)).toEqual(['/docs/a.html']);
  });
});
