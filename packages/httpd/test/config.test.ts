import { describe, expect, it } from 'vitest';
import { formatAddress, overlaps, parseAddress } from '../src/config/address.js';
import { diffConfig } from '../src/config/diff.js';
import { defaultConfig, formatProblem, parseConfigText, prefixProblem } from '../src/config/load.js';
import { locateKeys, positionOf } from '../src/config/locate.js';
import { parseDuration } from '../src/config/schema.js';
import { closest } from '../src/config/suggest.js';
import type { HttpdConfig } from '../src/config.js';
import { matchMount, sortPrefixes } from '../src/vhosts/mounts.js';

describe('parseAddress', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::1]:443', { host: '::1', port: 443 }],
    ['*:80', { host: '0.0.0.0', port: 80 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['127.0.0.1:65536', undefined],
    ['127.0.0.1', undefined],
    [':8080', undefined],
    ['[nothex]:80', undefined],
    ['a*b:80', undefined],
    ['http://x:80', undefined],
  ])('%s -> %j', (text, want) => expect(parseAddress(text)).toEqual(want));

  it('formats IPv6 in brackets', () => {
    expect(formatAddress({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(formatAddress({ host: '10.0.0.1', port: 80 })).toBe('10.0.0.1:80');
  });
});

describe('overlaps (two listeners cannot bind the same address and port)', () => {
  it.each([
    [{ host: '127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 80 }, true],
    [{ host: '0.0.0.0', port: 80 }, { host: '127.0.0.1', port: 80 }, true],
    [{ host: '127.0.0.1', port: 80 }, { host: '::', port: 80 }, true],
    [{ host: '127.0.0.1', port: 80 }, { host: '127.0.0.2', port: 80 }, false],
    [{ host: '127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 81 }, false],
    [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }, false],
  ])('%j and %j -> %s', (a, b, want) => expect(overlaps(a, b)).toBe(want));
});

describe('parseDuration (milliseconds)', () => {
  it.each([
    [5, 5000],
    [0.5, 500],
    ['250ms', 250],
    ['2s', 2000],
    ['1.5m', 90_000],
    [0, undefined],
    [-1, undefined],
    ['5', undefined],
    ['5h', undefined],
    [86_401, undefined],
    [true, undefined],
  ])('%j -> %j', (v, want) => expect(parseDuration(v)).toBe(want));
});

describe('prefixProblem (mount prefixes are normalised paths that start and end with /)', () => {
  it.each([
    ['/docs/', undefined],
    ['/a/b/', undefined],
    ['/', /not be '\/' itself/],
    ['/docs', /must start and end with '\/'/],
    ['docs/', /must start and end with '\/'/],
    ['//docs/', /empty, '\.' or '\.\.' segment/],
    ['/a/./b/', /empty, '\.' or '\.\.' segment/],
    ['/a/../', /empty, '\.' or '\.\.' segment/],
    ['/a%2f/', /not allowed in a prefix/],
    ['/a b/', /not allowed in a prefix/],
  ])('%s', (prefix, want) => {
    const got = prefixProblem(prefix);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });
});

describe('matchMount (longest prefix wins; the prefix without its slash redirects)', () => {
  const prefixes = sortPrefixes(['/docs/', '/docs/v2/', '/a/']);
  it.each([
    ['/docs/guide.html', { kind: 'inside', prefix: '/docs/', path: '/guide.html' }],
    ['/docs/', { kind: 'inside', prefix: '/docs/', path: '/' }],
    ['/docs/v2/x', { kind: 'inside', prefix: '/docs/v2/', path: '/x' }],
    ['/docs/v2', { kind: 'add-slash', prefix: '/docs/v2/' }],
    ['/docs', { kind: 'add-slash', prefix: '/docs/' }],
    ['/docsx', undefined],
    ['/doc', undefined],
    ['/', undefined],
    ['/b/docs/', undefined],
  ])('%s -> %j', (p, want) => expect(matchMount(prefixes, p)).toEqual(want));
  it('sorts longest first', () => expect(prefixes).toEqual(['/docs/v2/', '/docs/', '/a/']));
});

describe('closest ("did you mean")', () => {
  const keys = ['workers', 'cache_size', 'cache_control', 'keepalive', 'vhosts'];
  it.each([
    ['workerz', 'workers'],
    ['cache-size', 'cache_size'],
    ['Cache_Control', 'cache_control'],
    ['keep_alive', 'keepalive'],
    ['vhost', 'vhosts'],
    ['zzzzzz', undefined],
    ['port', undefined],
  ])('%s -> %s', (w, want) => expect(closest(w, keys)).toBe(want));
});

describe('locateKeys (FILE:LINE:COLUMN for keys smol-toml gives no position for)', () => {
  const src = `# comment\nvhosts = "x"\n\n[timeouts]\n  header = 3\n\n[[mount]]\nhost = "a"\n[[mount]]\nhost = "b"\ntext = """\nfake = 1\n"""\n"quoted key" = 2\na.b = 1\n`;
  const pos = locateKeys(src);
  it.each([
    [['vhosts'], { line: 2, column: 1 }],
    [['timeouts', 'header'], { line: 5, column: 3 }],
    [['mount', 0, 'host'], { line: 8, column: 1 }],
    [['mount', 1, 'host'], { line: 10, column: 1 }],
    [['mount', 1], { line: 9, column: 1 }],
    [['mount', 1, 'missing'], { line: 9, column: 1 }],
    [['mount', 1, 'quoted key'], { line: 14, column: 1 }],
    [['mount', 1, 'a', 'b'], { line: 15, column: 1 }],
  ])('%j -> %j', (path, want) => expect(positionOf(pos, path)).toEqual(want));
  it('does not take keys inside a multi-line string', () => expect(pos.has('mount.1.fake')).toBe(false));
});

describe('parseConfigText', () => {
  it('reports every shape problem, in file order, with its position', () => {
    const r = parseConfigText('workerz = 1\nio = 3\n[timeouts]\nheader = "soon"\n', 'f.toml');
    expect(r.kind).toBe('invalid');
    if (r.kind !== 'invalid') return;
    expect(r.problems.map(formatProblem)).toEqual([
      "f.toml:1:1: workerz: unknown key at the top level; did you mean 'workers'?",
      'f.toml:2:1: io: expected one of "sync", "stream", "async", got a number 3',
      'f.toml:4:1: timeouts.header: expected a duration greater than 0 and at most a day: seconds (5, 0.5) or a string like "500ms", "5s", "2m", got a string "soon"',
    ]);
  });
});

describe('diffConfig', () => {
  const base: HttpdConfig = { ...defaultConfig(), vhostsDir: '/v', configFile: '/c.toml' };
  it('lists what changed; restart-only settings are named and keep their old values', () => {
    const next: HttpdConfig = { ...base, cacheControl: 'no-store', io: 'async', port: 9, mounts: [{ host: 'a', prefix: '/d/', webroot: '/w' }] };
    const d = diffConfig(base, next);
    expect(d.changed).toEqual(['cacheControl', 'io', 'mounts', 'port']);
    expect(d.restartOnly).toEqual(['io', 'port']);
    expect(d.applied.io).toBe('sync');
    expect(d.applied.port).toBe(8080);
    expect(d.applied.cacheControl).toBe('no-store');
    expect(d.applied.mounts).toHaveLength(1);
  });
  it('nothing changed', () => expect(diffConfig(base, { ...base, configFile: '/other.toml' }).changed).toEqual([]));
  it('an admin listener cannot be added by a reload', () => {
    const d = diffConfig(base, { ...base, admin: { host: '127.0.0.1', port: 9180 } });
    expect(d.restartOnly).toEqual(['admin']);
    expect(d.applied.admin).toBeUndefined();
  });
});
