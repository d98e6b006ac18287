import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadAhead } from '../dist/read-ahead.js';

// Through the built module: the thread runs dist/read-ahead-worker.js (Node 20 cannot run .ts).
describe('ReadAhead reads and hashes small files on a second thread, in order (issue 15)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkroot-read-ahead-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };

  it('gives each file its bytes, SHA-256, size and mtime; a file above the limit is left to the caller; a missing one is MKROOT_UNREADABLE_FILE', async () => {
    const ahead = new ReadAhead(1000);
    try {
      const small = file('small.txt', 'small file\n');
      const empty = file('empty.txt', '');
      const large = file('large.bin', Buffer.alloc(1001, 7));
      const missing = path.join(dir, 'missing.txt');
      // More than one batch (128 files), so outcomes cross message boundaries.
      const many = Array.from({ length: 300 }, (_, i) => file(`n${i}.txt`, `number ${i}\n`));
      const tickets = [small, empty, large, missing, ...many].map((p) => ahead.queue(p));
      const first = await ahead.take(tickets[0]!);
      expect(first).toMatchObject({ kind: 'whole', size: 11, mtimeMs: fs.statSync(small).mtimeMs });
      if (first.kind !== 'whole') throw new Error('unreachable');
      expect(first.bytes.toString()).toBe('small file\n');
      expect(first.hash.equals(crypto.createHash('sha256').update('small file\n').digest())).toBe(true);
      expect(await ahead.take(tickets[1]!)).toMatchObject({ kind: 'whole', size: 0 });
      expect(await ahead.take(tickets[2]!)).toEqual({ kind: 'large' });
      await expect(ahead.take(tickets[3]!)).rejects.toMatchObject({
        code: 'MKROOT_UNREADABLE_FILE',
        message: `${missing}: cannot read (ENOENT); fix its permissions or remove it from the tree`,
      });
      for (let i = 0; i < many.length; i++) {
        const o = await ahead.take(tickets[4 + i]!);
        expect(o.kind === 'whole' && o.bytes.toString()).toBe(`number ${i}\n`);
      }
    } finally {
      await ahead.close();
    }
  });

  it('with three reader threads, batches are spread over them and outcomes still come in queue order (issue 15: packing on every core)', async () => {
    const ahead = new ReadAhead(1000, 3);
    try {
      // 700 files: six batches of 128 and a tail, so every thread gets at least two.
      const many = Array.from({ length: 700 }, (_, i) => file(`t${i}.txt`, `threaded ${i}\n`));
      const tickets = many.map((p) => ahead.queue(p));
      for (let i = 0; i < many.length; i++) {
        const o = await ahead.take(tickets[i]!);
        if (o.kind !== 'whole') throw new Error(`file ${i}: ${o.kind}`);
        expect(o.bytes.toString()).toBe(`threaded ${i}\n`);
        expect(o.hash.equals(crypto.createHash('sha256').update(`threaded ${i}\n`).digest())).toBe(true);
      }
    } finally {
      await ahead.close();
    }
  });
});
