import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMAT_VERSION, NO_RULES, WebrootError, compileRules, evaluateRules, openWebroot, type FileEntry, type RedirectRule, type SiteRules, type Webroot } from '../src/index.js';
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

  const evaluateOn = (w: Webroot, path: string, host = 'example.com') =>
    evaluateRules(w.compiledRules, { host, path, query: '' }, { kindOf: (p) => w.lookup(p)?.kind }, { autoindex: false }).decision;

  it('writes one redirect_lookup row per rule: the exact path (decoded, no trailing slash) or "" for a pattern, and the host', () => {
    const f = path.join(tmp(), 'l.webroot');
    const extra: RedirectRule = { line: 9, source: '/caf%C3%A9/ /coffee 302', from: '/caf%C3%A9/', query: [], to: '/coffee', status: 302, force: false };
    write(f, { ...RULES, redirects: [...RULES.redirects, extra] });
    const db = new Database(f, { readonly: true });
    try {
      expect(db.prepare('SELECT path, host, position FROM redirect_lookup ORDER BY path, host, position').raw().all()).toEqual([
        ['', 'old.example', 3], // '/*' of https://old.example/*: a pattern, with its host
        ['/café', '', 4], // '/caf%C3%A9/': decoded, trailing slash dropped
        ['/old', '', 1],
        ['/store', '', 2], // a query condition does not make a path a pattern
      ]);
    } finally {
      db.close();
    }
  });

  it.each([
    ['a pattern rule with an unknown status (pattern rules are read and checked on open)', 'UPDATE redirect_rules SET status = 299 WHERE position = 3', /status 299/],
    ['a rule missing from redirect_lookup', 'DELETE FROM redirect_lookup WHERE position = 2', /redirect_lookup does not list/],
    ['a redirect_lookup row naming no rule', 'PRAGMA foreign_keys = OFF; UPDATE redirect_lookup SET position = 9 WHERE position = 3', /redirect_lookup does not list/],
    ['an exact rule filed as a pattern', "UPDATE redirect_lookup SET path = '' WHERE position = 1", /exact path filed as a pattern/],
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

  it('an exact rule is read and checked on its first lookup, not on open: a malformed one is WEBROOT_CORRUPT_INDEX there, and in verify', () => {
    const f = tamper('UPDATE redirect_rules SET status = 299 WHERE position = 1');
    const w = openWebroot(f);
    try {
      expect(evaluateOn(w, '/')).toMatchObject({ kind: 'file', path: '/index.html' });
      expect(() => evaluateOn(w, '/old')).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringMatching(/redirect rule 1 \(redirect_lookup\).*status 299/) }));
      expect(w.verify().problems).toContainEqual(expect.stringMatching(/site rules: .*status 299/));
    } finally {
      w.close();
    }
  });

  it('a redirect_lookup row under another path: the rule is refused where it is filed, and verify reports the table', () => {
    const f = tamper("UPDATE redirect_lookup SET path = '/elsewhere' WHERE position = 1");
    const w = openWebroot(f);
    try {
      expect(() => evaluateOn(w, '/elsewhere')).toThrow(expect.objectContaining({ code: 'WEBROOT_CORRUPT_INDEX', message: expect.stringMatching(/is not the exact path "\/elsewhere"/) }));
      expect(w.verify().problems).toContain('redirect_lookup does not match the redirect rules');
    } finally {
      w.close();
    }
  });

  it('exact, pattern and domain-level rules answer as compiled in memory (the same evaluateRules), and in file order', () => {
    const f = path.join(tmp(), 'o.webroot');
    const rules: SiteRules = {
      ...RULES,
      redirects: [
        { line: 1, source: '/a/* /first 302', from: '/a/*', query: [], to: '/first', status: 302, force: false },
        { line: 2, source: '/a/b /second 302', from: '/a/b', query: [], to: '/second', status: 302, force: false },
        { line: 3, source: '/c /third 302', from: '/c', query: [], to: '/third', status: 302, force: false },
        { line: 4, source: 'https://h.example/c /host 302', host: 'h.example', from: '/c', query: [], to: '/host', status: 302, force: false },
      ],
    };
    write(f, rules);
    const w = openWebroot(f);
    try {
      const inMemory = compileRules(rules);
      const ix = { kindOf: (p: string) => w.lookup(p)?.kind };
      for (const [host, p] of [['example.com', '/a/b'], ['example.com', '/c/'], ['h.example', '/c'], ['h.example', '/a/x'], ['example.com', '/none']] as const) {
        const stored = evaluateOn(w, p, host);
        expect(stored, `${host}${p}`).toEqual(evaluateRules(inMemory, { host, path: p, query: '' }, ix, { autoindex: false }).decision);
      }
      expect(evaluateOn(w, '/a/b')).toMatchObject({ kind: 'redirect', location: '/first' });
      expect(evaluateOn(w, '/c', 'h.example')).toMatchObject({ kind: 'redirect', location: '/third' });
      expect(w.rules).toEqual(rules);
      expect(w.verify().ok).toBe(true);
    } finally {
      w.close();
    }
  });

  it('reads the committed version-2 fixture written before redirect_lookup existed: every rule read and compiled on open', () => {
    // Written by the version-2 writer of commit d7ab6ce (FORMAT.md section 1.2 without redirect_lookup).
    const w = openWebroot(new URL('./fixtures/v2-rule-rows.webroot', import.meta.url).pathname);
    try {
      expect(w.meta.formatVersion).toBe(2);
      expect(w.rules.redirects.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(w.rules.options).toEqual({ cleanUrls: true, trailingSlash: 'always' });
      expect(evaluateOn(w, '/old')).toMatchObject({ kind: 'redirect', status: 301, location: '/new' });
      expect(evaluateOn(w, '/café')).toMatchObject({ kind: 'redirect', status: 302, location: '/coffee' });
      expect(evaluateOn(w, '/news/2024/a/b')).toMatchObject({ kind: 'redirect', location: '/blog/2024/a/b' });
      expect(evaluateOn(w, '/docs/guide.html', 'old.example')).toMatchObject({ kind: 'redirect', location: 'https://new.example/guide' });
      expect(evaluateOn(w, '/docs/guide.html')).toMatchObject({ kind: 'redirect', status: 308, location: '/docs/guide' }); // clean URLs
      expect(evaluateOn(w, '/app/route')).toMatchObject({ kind: 'file', path: '/index.html', how: 'rewrite' });
      expect(w.verify()).toMatchObject({ ok: true, objectsChecked: 2 });
    } finally {
      w.close();
    }
  });
});
