import { describe, expect, it } from 'vitest';
import { parseTarget, removeDotSegments } from '../src/http/target.js';
import { normaliseHost } from '../src/http/host.js';

describe('parseTarget (RFC 9112 section 3.2, RFC 3986 sections 2.1 and 5.2.4)', () => {
  it.each([
    ['/', '/'],
    ['/index.html', '/index.html'],
    ['/a/b/', '/a/b/'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['//a///b', '/a/b'],
    ['/%7Euser', '/~user'],
    ['/a%20b.html', '/a b.html'],
    ['/c%2B%2B.html', '/c++.html'],
    ['/caf%C3%A9', '/café'],
    ['/%2e%2e/x'.replace('%2e%2e', 'a/%2e%2e'), '/x'],
    ['/a%2Fb', '/a/b'], // an encoded slash separates like a slash: it names nothing outside the site
    ['/a\\..\\b', '/a\\..\\b'], // backslash is an ordinary character, not a separator
  ])('%s -> %s', (target, path) => {
    expect(parseTarget(target)).toMatchObject({ kind: 'path', path });
  });

  it('keeps the query apart from the path', () => {
    expect(parseTarget('/docs?x=1&y=%2F')).toEqual({ kind: 'path', path: '/docs', rawPath: '/docs', query: '?x=1&y=%2F' });
  });

  it('absolute-form: the authority is kept for Host (RFC 9112 section 3.2.2)', () => {
    expect(parseTarget('http://Example.COM:8080/a?b')).toEqual({ kind: 'path', path: '/a', rawPath: '/a', query: '?b', authority: 'Example.COM:8080' });
    expect(parseTarget('http://example.com')).toMatchObject({ kind: 'path', path: '/', authority: 'example.com' });
  });

  it('asterisk-form', () => expect(parseTarget('*')).toEqual({ kind: 'asterisk' }));

  it.each([
    ['/..', 'climbs above the root'],
    ['/../etc/passwd', 'climbs above the root'],
    ['/%2e%2e/etc/passwd', 'climbs above the root'],
    ['/a/%2E%2E/%2e%2e/x', 'climbs above the root'],
    ['/..%2f..%2fetc%2fpasswd', 'climbs above the root'],
    ['/a%00.html', 'control character'],
    ['/a%0d%0aSet-Cookie:x', 'control character'],
    ['/%C0%AF', 'invalid UTF-8'], // overlong '/'
    ['/%E0%80%AF', 'invalid UTF-8'], // overlong '/'
    ['/%FF', 'invalid UTF-8'],
    ['/%zz', 'percent-encoding'],
    ['/%4', 'percent-encoding'],
    ['/a#frag', 'invalid character'],
    ['/caf\u00e9', 'invalid character'],
    ['relative/path', 'not origin-form'],
    ['ftp://x/y', 'not origin-form'],
  ])('%s is rejected (%s)', (target, reason) => {
    const r = parseTarget(target);
    expect(r.kind).toBe('bad');
    expect((r as { reason: string }).reason).toContain(reason);
  });

  it('removeDotSegments never climbs above the root', () => {
    expect(removeDotSegments('/a/../../b')).toBeUndefined();
    expect(removeDotSegments('/a/b/../../c')).toBe('/c');
  });
});

describe('normaliseHost (RFC 9110 section 7.2, RFC 3986 section 3.2.2)', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:80', 'example.com'],
    ['127.0.0.1:9', '127.0.0.1'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['', ''], // empty Host is valid: the default site answers
  ])('%j -> %j', (v, host) => expect(normaliseHost(v)).toBe(host));

  it.each(['exa mple.com', 'a/b', 'user@host', 'host:port', '[::1', '[::1]x', 'a\\b', '..:'.slice(0, 1) + '/'])('%j is invalid', (v) => {
    expect(normaliseHost(v)).toBeUndefined();
  });
});
