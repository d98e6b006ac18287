import { describe, expect, it } from 'vitest';
import { normaliseMount, resolveMounted, type MountedOutcome } from '../src/app/resolve-mounted.js';
import { responseFields } from '../src/http/fields.js';
import { errorResponse, representResource } from '../src/http/represent.js';
import { serializeHead } from '../src/server/serialize-http1.js';
import { fakeFile, fakeSite, request } from './helpers/fake-site.js';

const site = fakeSite([fakeFile('/index.html', 100), fakeFile('/docs/index.html', 10), fakeFile('/a.css', 5), fakeFile('/404.html', 20)]);

function summary(o: MountedOutcome): string {
  if (o.kind === 'pass') return 'pass';
  const r = o.resource;
  const what =
    r.kind === 'file' ? `file ${r.entry.path}` : r.kind === 'redirect' ? `redirect ${r.location}` : r.kind === 'error' ? `error ${r.status}` : r.kind === 'not-found' ? 'not-found' : r.kind;
  return `${o.kind} ${what}`;
}

describe('resolveMounted', () => {
  it.each([
    ['/', '/', 'GET', 'serve file /index.html'],
    ['/a.css', '/', 'GET', 'serve file /a.css'],
    ['/a.css?v=1', '/', 'HEAD', 'serve file /a.css'],
    ['/nope', '/', 'GET', 'missing not-found'],
    ['/docs', '/', 'GET', 'serve redirect /docs/'],
    ['/static/a.css', '/static', 'GET', 'serve file /a.css'],
    ['/static/', '/static', 'GET', 'serve file /index.html'],
    ['/static', '/static', 'GET', 'serve redirect /static/'],
    ['/static?x=1', '/static', 'GET', 'serve redirect /static/?x=1'],
    ['/static/docs?q', '/static', 'GET', 'serve redirect /static/docs/?q'],
    ['/staticx/a.css', '/static', 'GET', 'pass'],
    ['/a.css', '/static', 'GET', 'pass'],
    ['/static/../a.css', '/static', 'GET', 'pass'], // normalised first: /a.css is outside the mount
    ['/st%61tic/a.css', '/static', 'GET', 'serve file /a.css'],
    ['/caf%C3%A9/a.css', '/café', 'GET', 'serve file /a.css'],
    ['/caf%C3%A9/docs', '/café', 'GET', 'serve redirect /caf%C3%A9/docs/'],
    ['/%2e%2e/etc/passwd', '/', 'GET', 'pass'], // climbs above the root: never looked up
    ['/a%00.css', '/', 'GET', 'pass'],
    ['*', '/', 'OPTIONS', 'pass'],
    ['/a.css', '/', 'POST', 'serve error 405'], // RFC 9110 section 15.5.6
    ['/a.css', '/', 'OPTIONS', 'serve options'],
    ['/nope', '/', 'POST', 'missing not-found'],
  ])('%s under %s (%s) -> %s', (target, mount, method, want) => {
    expect(summary(resolveMounted(request(target, { method }), site, mount, { autoindex: false }))).toBe(want);
  });

  it.each([
    ['/', '/'],
    ['static', '/static'],
    ['/static/', '/static'],
    ['/a/./b/../c', '/a/c'],
    ['/café', '/café'],
    ['/..', undefined],
    ['/a?b', undefined],
    ['/a b', undefined],
  ])('normaliseMount(%j) -> %j', (value, want) => {
    expect(normaliseMount(value)).toBe(want);
  });
});

describe('responseFields agrees with the HTTP/1.1 serializer', () => {
  const now = 1_800_000_000;
  const cases = [
    ['a 200 with variants', representResource({ kind: 'file', site, entry: fakeFile('/v.html', 30, { variants: ['br'] }), status: 200 }, request('/v.html', { acceptEncoding: 'br' }), { cacheControl: 'no-cache' }, now)],
    ['a 206', representResource({ kind: 'file', site, entry: fakeFile('/r.bin', 300), status: 200 }, request('/r.bin', { range: 'bytes=0-9' }), { cacheControl: '' }, now)],
    ['a 304', representResource({ kind: 'file', site, entry: fakeFile('/n.bin', 3), status: 200 }, request('/n.bin', { ifNoneMatch: '"id-/n.bin"' }), { cacheControl: 'no-cache' }, now)],
    ['a 405', errorResponse(405)],
    ['a redirect', representResource({ kind: 'redirect', status: 301, location: '/docs/' }, request('/docs'), { cacheControl: '' }, now)],
    ['extra fields', representResource({ kind: 'file', site, entry: fakeFile('/e.txt', 3), status: 200, extra: [['X-Rule', 'yes']] }, request('/e.txt'), { cacheControl: '' }, now)],
  ] as const;
  it.each(cases)('%s', (_name, res) => {
    const fromSerializer = serializeHead(res)
      .split('\r\n')
      .slice(1, -1)
      .filter((l) => !l.startsWith('Server:'));
    expect(responseFields(res).map(([n, v]) => `${n}: ${v}`)).toEqual(fromSerializer);
  });
});
