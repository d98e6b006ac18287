import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSourceFile } from '../src/read-file.js';

describe('readSourceFile detects a file that changes while it is packed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkroot-change-'));
  it('a file that grows during the read is MKROOT_FILE_CHANGED', () => {
    const f = path.join(dir, 'grows.txt');
    fs.writeFileSync(f, 'a'.repeat(100_000));
    expect(() =>
      readSourceFile(f, 16_384, (_chunk, first) => {
        if (first) fs.appendFileSync(f, 'more');
      }),
    ).toThrow(expect.objectContaining({ code: 'MKROOT_FILE_CHANGED' }));
  });
  it('a file rewritten (same size, new mtime) during the read is MKROOT_FILE_CHANGED', () => {
    const f = path.join(dir, 'rewritten.txt');
    fs.writeFileSync(f, 'b'.repeat(100_000));
    fs.utimesSync(f, 1_000_000, 1_000_000);
    expect(() =>
      readSourceFile(f, 16_384, (_chunk, first) => {
        if (first) fs.utimesSync(f, 2_000_000, 2_000_000);
      }),
    ).toThrow(expect.objectContaining({ code: 'MKROOT_FILE_CHANGED' }));
  });
  it('a still file reads whole', () => {
    const f = path.join(dir, 'still.txt');
    fs.writeFileSync(f, 'c'.repeat(100_000));
    let n = 0;
    expect(readSourceFile(f, 16_384, (c) => (n += c.length)).size).toBe(100_000);
    expect(n).toBe(100_000);
  });
});
