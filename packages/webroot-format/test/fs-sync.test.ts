import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyWithinFile } from '../src/fs-sync.js';

// copyWithinFile moves the writer's data region (moveData: forward, to make room for the index) and a short
// stream back over an alignment gap (moveBack). The ranges overlap whenever the move is shorter than the
// bytes moved; with a chunk smaller than both, the copy order decides whether bytes are overwritten early.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-fs-sync-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileWith(bytes: Buffer): { fd: number; file: string } {
  const file = path.join(dir, `f${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, bytes);
  return { fd: fs.openSync(file, 'r+'), file };
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251));

describe('copyWithinFile', () => {
  it.each([
    ['forward, overlapping, in small chunks', 10, 13, 100, 8],
    ['back, overlapping, in small chunks', 13, 10, 100, 8],
    ['forward, one chunk', 0, 50, 40, 4096],
    ['back by less than a chunk', 4000, 1, 5000, 1024],
    ['forward by a chunk exactly', 0, 16, 64, 16],
  ])('%s: the destination holds exactly the source bytes', (_name, src, dst, length, chunk) => {
    const before = pattern(src + dst + length + 20);
    const { fd } = fileWith(before);
    try {
      copyWithinFile(fd, src, dst, length, chunk);
      const after = Buffer.alloc(Math.max(before.length, dst + length));
      fs.readSync(fd, after, 0, after.length, 0);
      expect(after.subarray(dst, dst + length).equals(before.subarray(src, src + length))).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a source that runs past the end of the file is an error, not a loop', () => {
    const { fd } = fileWith(pattern(100));
    try {
      expect(() => copyWithinFile(fd, 90, 0, 50, 16)).toThrow(/file ends at 100/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
