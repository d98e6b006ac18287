import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CHUNK, readWindow } from '../src/io/executors.js';

/**
 * readWindow places a large body's reads half a page away from the source's offset in its page: read(2)'s
 * copy out of the page cache ran at half speed here when the two sat at nearly the same offset (4K aliasing;
 * an object at a page boundary of the file read into a Buffer 16 bytes into a page).
 */
const addon = process.platform === 'linux' ? (createRequire(import.meta.url)('../native/build/Release/webroot_sendfile.node') as { pageOffset(b: Buffer): number }) : undefined;
if (addon === undefined) console.log(`skipping the read-window placement: the addon is built on Linux only (this is ${process.platform})`);

describe.skipIf(addon === undefined)('readWindow: where a chunk is read into', () => {
  it.each([0, 1, 16, 2048, 3072, 4095, 4096 * 1000 + 17, 2 ** 33 + 5])('file offset %d: the destination sits half a page from the source in its page, inside the buffer', (fileOffset) => {
    const buf = Buffer.allocUnsafeSlow(CHUNK + 4096);
    const window = readWindow(buf, fileOffset);
    expect(window.length).toBe(CHUNK);
    expect(window.buffer).toBe(buf.buffer);
    expect(window.byteOffset + window.length).toBeLessThanOrEqual(buf.length);
    expect((((addon!.pageOffset(window) - fileOffset) % 4096) + 4096) % 4096).toBe(2048);
  });

  it('a buffer of only CHUNK bytes (not one of the pool\'s) is used from its start', () => {
    const buf = Buffer.allocUnsafeSlow(CHUNK);
    expect(readWindow(buf, 123).byteOffset).toBe(0);
  });
});
