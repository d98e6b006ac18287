import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isCompressible } from '../src/compress.js';
import { detectMime, looksLikeUtf8Text, parseMimeOverrides, withCharset } from '../src/mime.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108020000009077053e', 'hex');
const GZIP = zlib.gzipSync(Buffer.from('x'));
const PDF = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1');

describe('detectMime: extension, then magic bytes, then UTF-8 text, then octet-stream', () => {
  const none = new Map<string, string>();
  it.each([
    ['/index.html', 'whatever', 'text/html; charset=utf-8'],
    ['/style.CSS', '', 'text/css; charset=utf-8'],
    ['/app.js', '', 'text/javascript; charset=utf-8'],
    ['/data.json', '{}', 'application/json; charset=utf-8'],
    ['/logo.svg', '<svg/>', 'image/svg+xml; charset=utf-8'],
    ['/font.woff2', 'wOF2', 'font/woff2'],
    ['/photo.png', PNG, 'image/png'],
    ['/mod.wasm', '\0asm', 'application/wasm'],
    ['/readme.txt', 'plain', 'text/plain; charset=utf-8'],
    // no extension: magic bytes
    ['/photo', PNG, 'image/png'],
    ['/archive', GZIP, 'application/gzip'],
    ['/doc', PDF, 'application/pdf'],
    // unknown extension: magic bytes still win over guessing
    ['/picture.unknownext', PNG, 'image/png'],
    // no extension, no magic: UTF-8 text
    ['/LICENSE', 'MIT License\nCopyright (c) 2026\n', 'text/plain; charset=utf-8'],
    ['/notes', 'naïve café 日本語 🚀\n', 'text/plain; charset=utf-8'],
    // binary that is not valid UTF-8, or has NUL: octet-stream
    ['/blob', Buffer.from([0xc3, 0x28, 0x01, 0x02, 0x80]), 'application/octet-stream'], // invalid UTF-8, no known magic
    ['/nul', Buffer.from('abc\0def'), 'application/octet-stream'],
    ['/latin1', Buffer.from('caf\xe9 au lait', 'latin1'), 'application/octet-stream'],
    ['/empty', '', 'application/octet-stream'],
  ])('%s', async (p, content, expected) => {
    expect(await detectMime(p, Buffer.from(content as string | Buffer), false, none)).toBe(expected);
  });

  it('--mime overrides win over the table', async () => {
    const o = parseMimeOverrides(['.html=text/x-custom', '.DAT=application/x-thing']);
    expect(await detectMime('/a.html', Buffer.from('x'), false, o)).toBe('text/x-custom; charset=utf-8');
    expect(await detectMime('/b.dat', Buffer.from('x'), false, o)).toBe('application/x-thing');
  });

  it('rejects malformed --mime values with MKROOT_BAD_OPTION', () => {
    for (const bad of ['html=text/html', '.html', '.html=texthtml', '=text/html']) {
      expect(() => parseMimeOverrides([bad])).toThrow(expect.objectContaining({ code: 'MKROOT_BAD_OPTION' }));
    }
  });

  it('a truncated head may end inside a UTF-8 character', () => {
    const text = Buffer.from('日本語');
    expect(looksLikeUtf8Text(text.subarray(0, 7), true)).toBe(true);
    expect(looksLikeUtf8Text(text.subarray(0, 7), false)).toBe(false);
  });

  it('charset only for text types', () => {
    expect(withCharset('text/html')).toBe('text/html; charset=utf-8');
    expect(withCharset('application/manifest+json')).toBe('application/manifest+json; charset=utf-8');
    expect(withCharset('image/png')).toBe('image/png');
    expect(withCharset('text/html; charset=iso-8859-1')).toBe('text/html; charset=iso-8859-1');
  });
});

describe('isCompressible', () => {
  it.each([
    ['text/html; charset=utf-8', true],
    ['text/javascript; charset=utf-8', true],
    ['application/json; charset=utf-8', true],
    ['image/svg+xml; charset=utf-8', true],
    ['application/wasm', true],
    ['application/atom+xml', true],
    ['font/ttf', true],
    ['image/png', false],
    ['font/woff2', false],
    ['application/zip', false],
    ['application/octet-stream', false],
  ])('%s -> %s', (mime, expected) => expect(isCompressible(mime)).toBe(expected));
});
