import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMAT_VERSION, NO_RULES, WebrootError, openWebroot, type FileEntry, type SiteRules } from '../src/index.js';
import { WebrootWriter } from '../src/writer/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'wr-rules-'));
  dirs.push(d);
  return d;
}

const RULES: SiteRules = {
  redirects: [
    { line: 2, source: '/old /new 301', from: '/old', query: [], to: '/new', status: 301, force: false },
    { line: 3, source: '/store id=:id /blog/:id 302!', from: '/store', query: [{ key: 'id', value: ':id' }], to: '/blog/:id', status: 302, force: true },
    { line: 4, source: 'https://old.example/* https://new.example/:splat 301', host: 'old.example', from: '/*', query: [], to: 'https://new.example/:splat', status: 301, force: false },
  ],
  headers: [
    { line: 1, pattern: '/*', ops: [{ op: 'set', line: 2, name: 'X-Frame-Options', value: 'DENY' }] },
    { line: 3, pattern: '/assets/*', ops: [{ op: 'set', line: 4, name: 'Cache-Control', value: 'public, max-age=31536000, immutable' }, { op: 'remove', line: 5, name: 'X-Frame-Options' }] },
  ],
  options: { cleanUrls: true, trailingSlash: 'never' },
};

function write(dest: string, rules?: SiteRules): void {
  const w = new WebrootWriter(dest);
  w.addDirectory('/', 0);
  w.addFile({ path: '/index.html', mtime: 0, mime: 'text/html; charset=utf-8', object: w.addObject(Buffer.from('<p>hi</p>')), variants: [] });
  if (rules) w.setRules(rules);
  w.finish({ generator: 'test', created: 0 });
}

describe('format version 2: the site rules tables (FORMAT.md section 1.2)', () => {
  it('writes version 2 and reads the rules back exactly, in file order', () => {
    const f = path.join(tmp(), 'r.webroot');
    write(f, RULES);
    const w = openWebroot(f);
    try {
      expect(w.meta.formatVersion).toBe(FORMAT_VERSION);
      expect(FORMAT_VERSION).toBe(2);
      expect(w.rules).toEqual(RULES);
      expect(w.verify().ok).toBe(true);
    } finally {
      w.close();
    }
  });

  it('a file without rules has empty tables and the default options', () => {
    const f = path.join(tmp(), 'none.webroot');
    write(f);
    const w = openWebroot(f);
    expect(w.rules).toEqual(NO_RULES);
    w.close();
  });

  it('the same rules give byte-identical files', () => {
    const d = tmp();
    write(path.join(d, 'a.webroot'), RULES);
    write(path.join(d, 'b.webroot'), RULES);
    expect(fs.readFileSync(path.join(d, 'a.webroot')).equals(fs.readFileSync(path.join(d, 'b.webroot')))).toBe(true);
  });

  it('the writer refuses a bad rule (nothing is written)', () => {
    const d = tmp();
    const w = new WebrootWriter(path.join(d, 'x.webroot'));
    expect(() => w.setRules({ ...NO_RULES, redirects: [{ line: 1, source: 'x', from: 'nope', query: [], to: '/a', status: 301, force: false }] })).toThrow(/must start with '\/'/);
    w.abort();
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it('reads the committed version-1 fixture (built by the version-1 writer): no rules, same files', () => {
    const w = openWebroot(new URL('./fixtures/v1.webroot', import.meta.url).pathname);
    try {
      expect(w.meta.formatVersion).toBe(1);
      expect(w.rules).toEqual(NO_RULES);
      const guide = w.lookup('/docs/guide.txt') as FileEntry;
      expect(w.readObjectSync(guide.object).toString()).toBe('docs guide, a version-1 file\n');
      expect(w.lookup('/index.html')?.kind).toBe('file');
      expect(w.verify()).toMatchObject({ ok: true, objectsChecked: 2 });
    } finally {
      w.close();
    }
  });

  /** Rewrites the index of a copy through SQLite (the index is a plain database at offset 0; the data region stays). */
  function tamper(sql: string): string {
    const f = path.join(tmp(), 't.webroot');
    write(f, RULES);
    const bytes = fs.readFileSync(f);
    const pageCount = bytes.readUInt32BE(28);
    const image = bytes.subarray(0, 4096 * pageCount);
    const db = new Database(Buffer.from(image));
    db.exec(sql);
    const out = db.serialize();
    db.close();
    if (out.length > image.length) throw new Error('tampered index grew');
    const copy = Buffer.from(bytes);
    copy.fill(0, 0, image.length);
    out.copy(copy, 0);
    fs.writeFileSync(f, copy);
    return f;
  }

  it('verify reports rule tables that no longer match meta rules_sha256 (WEBROOT_CORRUPT_DATA from verifyOrThrow)', () => {
    const f = tamper("UPDATE redirect_rules SET to_target = '/elsewhere' WHERE position = 1");
    const w = openWebroot(f);
    try {
      expect(w.verify().problems).toContain('digest of the site rules does not match meta rules_sha256');
      expect(() => w.verifyOrThrow()).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_DATA' }));
    } finally {
      w.close();
    }
  });

  it.each([
    ['an unknown status', 'UPDATE redirect_rules SET status = 299 WHERE position = 1', /status 299/],
    ['a pattern that is not a path', "UPDATE header_blocks SET pattern = 'assets' WHERE position = 2", /must start with/],
    ['a server-owned field', "UPDATE header_fields SET name = 'Content-Length' WHERE block = 1", /Content-Length/],
    ['a bad trailing-slash policy', "UPDATE build_options SET value = 'sometimes' WHERE key = 'trailing_slash'", /build options/],
    ['no rules_sha256', "DELETE FROM meta WHERE key = 'rules_sha256'", /rules_sha256/],
  ])('open refuses rule tables with %s: WEBROOT_CORRUPT_INDEX', (_name, sql, message) => {
    const f = tamper(sql);
    let err: unknown;
    try {
      openWebroot(f).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebrootError);
    expect((err as WebrootError).code).toBe('WEBROOT_CORRUPT_INDEX');
    expect((err as Error).message).toMatch(message);
  });
});
