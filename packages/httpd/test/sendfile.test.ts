import { describe, expect, it } from 'vitest';
import type { StoredObject } from '@webroot/format';
import { cachestatWorks, isUnsupported, modeUsesSendfile, sendfileNeedsCached, parseSendfileSetting, SENDFILE_AUTO_MAX_BODY, sendfileMaxBody, sendfileRange, SENDFILE_MIN_BODY } from '../src/io/sendfile.js';
import type { HttpResponse } from '../src/http/response.js';

const object = (offset: number, length: number) => ({ offset, length }) as unknown as StoredObject;
type Body = Pick<HttpResponse, 'body' | 'bodyLength'>;
const whole = (offset: number, length: number): Body => ({ body: [{ kind: 'object', object: object(offset, length), start: 0, end: length }], bodyLength: length });

describe('sendfileRange: which bodies go by sendfile(2)', () => {
  const min = SENDFILE_MIN_BODY;
  it.each<[string, Body, ReturnType<typeof sendfileRange>]>([
    ['a whole stored object at the threshold', whole(4096, min), { offset: 4096, length: min }],
    ['one byte below the threshold: one write with the head', whole(4096, min - 1), undefined],
    ['a single range: its offset into the file', { body: [{ kind: 'object', object: object(4096, 5_000_000), start: 1000, end: 1_001_000 }], bodyLength: 1_000_000 }, { offset: 5096, length: 1_000_000 }],
    ['no body (HEAD, 304, 204)', { body: [], bodyLength: 0 }, undefined],
    ['a generated body (listing, error page)', { body: [{ kind: 'buffer', data: Buffer.alloc(min) }], bodyLength: min }, undefined],
    [
      'multipart ranges (buffer segments between the parts)',
      {
        body: [
          { kind: 'buffer', data: Buffer.from('--b\r\n\r\n') },
          { kind: 'object', object: object(0, 10 * min), start: 0, end: min },
          { kind: 'buffer', data: Buffer.from('\r\n--b--\r\n') },
        ],
        bodyLength: min + 16,
      },
      undefined,
    ],
  ])('%s', (_name, res, expected) => {
    expect(sendfileRange(res, min)).toEqual(expected);
  });

  it('auto: from 64 KiB to 1 MiB, both ends included; on and all: no upper end', () => {
    const max = sendfileMaxBody('auto');
    expect(max).toBe(SENDFILE_AUTO_MAX_BODY);
    expect(sendfileRange(whole(0, max), min, max)).toEqual({ offset: 0, length: max });
    expect(sendfileRange(whole(0, max + 1), min, max)).toBeUndefined();
    expect(sendfileRange(whole(0, 100 * 1024), min, max)).toEqual({ offset: 0, length: 100 * 1024 });
    expect(sendfileRange(whole(0, 20 * 1024 * 1024), min, sendfileMaxBody('on'))).toEqual({ offset: 0, length: 20 * 1024 * 1024 });
    expect(sendfileMaxBody('all')).toBe(sendfileMaxBody('on'));
  });
});

describe('WEBROOT_SENDFILE', () => {
  it.each([
    [undefined, 'auto'],
    ['', 'auto'],
    ['auto', 'auto'],
    ['off', 'off'],
    ['0', 'off'],
    ['on', 'on'],
    ['1', 'on'],
    ['all', 'all'],
  ] as const)('%s -> %s', (value, setting) => {
    expect(parseSendfileSetting(value)).toBe(setting);
  });

  it('names an unknown value and the values it takes', () => {
    expect((parseSendfileSetting('yes') as Error).message).toBe('WEBROOT_SENDFILE=yes: expected auto (the default: 64 KiB to 1 MiB in the stream and sync modes, and in async mode once the page cache holds the body), on (every body from 64 KiB, stream and sync), all (every IO mode) or off');
  });

  it.each([
    ['auto', 'stream', true],
    ['auto', 'sync', true],
    ['on', 'stream', true],
    ['on', 'sync', true],
    ['on', 'async', false],
    ['all', 'async', true],
    ['off', 'stream', false],
  ] as const)('%s in %s mode: %s', (setting, mode, uses) => {
    expect(modeUsesSendfile(setting, mode)).toBe(uses);
  });

  it('auto in async mode: where cachestat(2) answers (Linux 6.5+), for bodies whose pages it says are cached', () => {
    expect(modeUsesSendfile('auto', 'async')).toBe(cachestatWorks);
    expect(sendfileNeedsCached('auto', 'async')).toBe(true);
    expect(sendfileNeedsCached('all', 'async')).toBe(false);
    expect(sendfileNeedsCached('auto', 'sync')).toBe(false);
    if (process.platform === 'linux') console.log(`cachestat(2) ${cachestatWorks ? 'answers' : 'does not answer'} on this kernel`);
  });
});

describe('isUnsupported: errors that turn the path off rather than close the connection', () => {
  it.each([
    ['EINVAL', -22, true],
    ['ENOSYS', -38, true],
    ['EPIPE (the client is gone)', -32, false],
    ['ECONNRESET', -104, false],
  ])('%s', (_name, result, unsupported) => {
    expect(isUnsupported(result)).toBe(unsupported);
  });
});
