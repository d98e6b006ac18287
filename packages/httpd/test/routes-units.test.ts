import { describe, expect, it } from 'vitest';
import { ChunkedDecoder, MAX_CHUNK_LINE } from '../src/routes/chunked.js';
import { headFields } from '../src/routes/route-exchange.js';
import { chooseRoute, parseRouteSpec, underPrefix, type RouteSpec } from '../src/routes/route-spec.js';

/** Feeds `input` to a decoder in pieces of `step` bytes; the decoded text, and how it ended. */
function decode(input: string, step = input.length): { text: string; done: boolean; rest: string; error?: string } {
  const d = new ChunkedDecoder();
  let text = '';
  let rest = '';
  const bytes = Buffer.from(input, 'latin1');
  for (let i = 0; i < bytes.length; i += step) {
    const out = d.push(bytes.subarray(i, i + step));
    if (out.kind === 'error') return { text, done: false, rest, error: out.reason };
    text += out.data.map((b) => b.toString('latin1')).join('');
    if (out.rest) rest += out.rest.toString('latin1');
    if (out.done) {
      rest += bytes.subarray(i + step).toString('latin1');
      return { text, done: true, rest };
    }
  }
  return { text, done: d.done, rest };
}

describe('ChunkedDecoder (RFC 9112 section 7.1)', () => {
  it.each([
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'hello', ''],
    ['two chunks, hex sizes', 'a\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n', '0123456789!', ''],
    ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789', ''],
    ['extensions are skipped (7.1.1)', '5;name=value;x\r\nhello\r\n0;end\r\n\r\n', 'hello', ''],
    ['trailers are discarded (7.1.2)', '2\r\nok\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n', 'ok', ''],
    ['bare LF line ends', '2\nok\n0\n\n', 'ok', ''],
    ['the bytes after the body are the next request', '2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n', 'ok', 'GET / HTTP/1.1\r\n'],
    ['an empty body', '0\r\n\r\n', '', ''],
  ])('%s', (_name, input, text, rest) => {
    for (const step of [input.length, 1, 3]) expect(decode(input, step)).toEqual({ text, done: true, rest });
  });

  it.each([
    ['a size that is not hex', 'zz\r\nhello\r\n0\r\n\r\n', 'malformed chunk-size'],
    ['a negative size', '-5\r\nhello\r\n', 'malformed chunk-size'],
    ['an empty size line', '\r\nhello\r\n', 'malformed chunk-size'],
    ['a size over 12 hex digits', '1000000000000\r\n', 'malformed chunk-size'],
    ['data longer than its size', '2\r\nhello\r\n0\r\n\r\n', 'chunk data not followed by CRLF'],
    ['a malformed trailer', '0\r\nnot a field\r\n\r\n', 'malformed trailer field'],
    ['a control character in an extension', '5;a=\x01\r\nhello\r\n', 'control character in a chunk extension'],
    ['an endless size line', 'f'.repeat(MAX_CHUNK_LINE + 1), 'chunk-size or trailer line too long'],
  ])('%s is refused', (_name, input, error) => {
    expect(decode(input).error).toBe(error);
  });

  it('an incomplete body is not done', () => {
    expect(decode('5\r\nhel')).toEqual({ text: 'hel', done: false, rest: '' });
  });
});

const spec = (host: string | undefined, prefix: string): RouteSpec => ({ host, prefix, module: `/m${prefix}.mjs` });

describe('route specs', () => {
  it.each([
    ['/api=./api.mjs', { host: undefined, prefix: '/api', module: '/srv/api.mjs' }],
    ['/api/=api.mjs', { host: undefined, prefix: '/api', module: '/srv/api.mjs' }],
    ['/=/abs/root.mjs', { host: undefined, prefix: '/', module: '/abs/root.mjs' }],
    ['Example.COM./search=s.js', { host: 'example.com', prefix: '/search', module: '/srv/s.js' }],
    ['*/api=a.mjs', { host: undefined, prefix: '/api', module: '/srv/a.mjs' }],
    ['example.com:8080/x=a.mjs', { host: 'example.com', prefix: '/x', module: '/srv/a.mjs' }],
    ['/a=b/c=d.mjs', { host: undefined, prefix: '/a', module: '/srv/b/c=d.mjs' }],
  ])('%s', (value, want) => {
    expect(parseRouteSpec(value, '/srv')).toEqual({ kind: 'ok', spec: want });
  });

  it.each([
    ['/api', /has no '=MODULE'/],
    ['api=a.mjs', /has no path prefix/],
    ['bad host/api=a.mjs', /is not a host name/],
    ['/a/../../b=a.mjs', /is not a path prefix/],
    ['/a%2Fb=a.mjs', /is not a path prefix/],
    ['/a?b=a.mjs', /is not a path prefix/],
    ['/api=', /names no module/],
    ['/api=a.ts', /not an ES module file/],
  ])('%s is refused', (value, message) => {
    const out = parseRouteSpec(value, '/srv');
    expect(out.kind).toBe('error');
    if (out.kind === 'error') expect(out.message).toMatch(message);
  });

  it.each([
    ['/api', '/api', true],
    ['/api/x', '/api', true],
    ['/apix', '/api', false],
    ['/', '/api', false],
    ['/anything', '/', true],
  ])('underPrefix(%s, %s) = %s', (path, prefix, want) => {
    expect(underPrefix(path, prefix)).toBe(want);
  });

  const specs = [spec(undefined, '/'), spec(undefined, '/api'), spec(undefined, '/api/v2'), spec('example.com', '/api'), spec('other.test', '/api/v2/deep')];
  it.each([
    [undefined, '/x', 0],
    ['localhost', '/api/x', 1],
    ['localhost', '/api/v2', 2],
    ['localhost', '/api/v22', 1],
    ['example.com', '/api/x', 3], // the host's own route at equal length
    ['example.com', '/api/v2/x', 2], // longer every-host prefix beats a shorter host route
    ['other.test', '/api/v2/deep/x', 4],
    ['localhost', '/api/v2/deep/x', 2],
  ])('host %s, path %s -> route %i (longest prefix)', (host, path, want) => {
    expect(chooseRoute(specs, host, path)).toBe(want);
  });

  it('no route: -1', () => {
    expect(chooseRoute([spec(undefined, '/api')], 'h', '/static')).toBe(-1);
  });
});

describe('headFields', () => {
  it('keeps every field line with its name as sent, values trimmed', () => {
    const head = Buffer.from('POST /x HTTP/1.1\r\nHost: a\r\nX-Custom:  v 1 \r\ncookie: a=b\r\n\r\n', 'latin1');
    expect(headFields(head)).toEqual([
      ['Host', 'a'],
      ['X-Custom', 'v 1'],
      ['cookie', 'a=b'],
    ]);
  });
});
