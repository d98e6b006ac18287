import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFile } from '@webroot/format/manifest';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN, MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { until as untilWithin } from './helpers/until.js';

// The suite runs two heavy files at a time (one may be compiling better-sqlite3): each wait here is bounded at
// 40 s, and each download or poll of the node at 10 s, so a saturated CPU slows these tests without failing them.
const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined) => untilWithin(what, fn, 40_000);
import { getWithHost, startChannelServer, type ChannelServer } from './helpers/channel-server.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

// One node following a channel on loopback: runs everywhere (no root, no external program).
// test/multi-node.test.ts does the same with three nodes in network namespaces behind haproxy.
const mkroot = (args: string[]) => runNode(MKROOT_BIN, args, { timeoutMs: 30_000 });


describe('httpd --follow on loopback', { timeout: 120_000 }, () => {
  let dir: string;
  let channel: string;
  let server: ChannelServer;
  let node: RunningHttpd;
  let statusUrl: string;
  let key: string;
  let v1Digest = '';
  const body = async (host: string, p = '/index.html') => {
    const r = await getWithHost(node.port, host, p);
    return r.status === 200 ? r.body.toString() : `status ${r.status}`;
  };
  const status = async () => (await (await fetch(statusUrl)).json()) as { hosts: Record<string, { digest: string | null; follow: { refusals: Record<string, number>; previews: string[]; downloads: { resumed: number } } }> };
  const release = async (name: string, text: string) => {
    const src = writeTree(path.join(dir, `src-${name}`), { 'index.html': text, 'blob.bin': noise(400_000, name.length + text.length) });
    const out = path.join(dir, `${name}.webroot`);
    expect((await mkroot(['build', '-q', src, out])).code).toBe(0);
    return { file: out, digest: await digestFile(out) };
  };
  const publish = async (file: string, ...extra: string[]) => {
    const r = await mkroot(['publish', file, '--host', 'example.com', '--channel', channel, '--key', key, ...extra]);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    dir = tmpDir('follow-');
    channel = path.join(dir, 'channel');
    fs.mkdirSync(channel);
    fs.mkdirSync(path.join(dir, 'vhosts'));
    key = path.join(dir, 'release.key');
    expect((await mkroot(['keygen', key])).code).toBe(0);
    server = await startChannelServer(channel, { cutOnce: { suffix: '.webroot', afterBytes: 100_000 } });
  });
  afterAll(async () => {
    await node?.stop();
    await server?.close();
  });

  it('an interrupted first download resumes with Range + If-Range (RFC 9110 sections 14.2, 13.1.5), then serves it; status says so', async () => {
    const v1 = await release('v1', 'one');
    await publish(v1.file);
    v1Digest = v1.digest;
    node = await startHttpd(path.join(dir, 'vhosts'), [
      '--workers', '2',
      '--follow', `host=example.com,manifest=${server.url}example.com.json,key=${key}.pub,interval=300ms,timeout=10s`,
      '--releases', path.join(dir, 'releases'),
      '--keep', '2',
      '--status', '127.0.0.1:0',
    ]);
    statusUrl = ((await node.waitForLog((l) => l.event === 'status-listening')).url as string);
    await until('v1 served', async () => ((await body('example.com')) === 'one' ? true : undefined));
    const gets = server.log.filter((l) => l.name === `${v1.digest}.webroot` && l.method === 'GET');
    expect(gets[0]).toMatchObject({ status: 200, range: undefined });
    expect(gets[1]).toMatchObject({ status: 206, range: 'bytes=100000-' });
    expect(gets[1]!.ifRange).toMatch(/^"/);
    const s = await status();
    expect(s.hosts['example.com']!.digest).toBe(v1.digest);
    expect(s.hosts['example.com']!.follow.downloads.resumed).toBe(1);
    const cli = await mkroot(['status', '--nodes', statusUrl.replace(/\/status$/, '')]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toBe(`example.com: 1 of 1 nodes serve ${v1.digest.slice(0, 12)}\n`);
    expect(fs.readdirSync(path.join(dir, 'releases', 'example.com')).filter((n) => n.startsWith('.partial'))).toEqual([]);
  });

  it('polls with If-None-Match: an unchanged manifest costs a 304', async () => {
    const before = server.log.length;
    await until('two more polls', () => (server.log.slice(before).filter((l) => l.name === 'example.com.json').length >= 2 ? true : undefined));
    const polls = server.log.slice(before).filter((l) => l.name === 'example.com.json');
    expect(polls.every((l) => l.status === 304)).toBe(true);
  });

  it('a staged release is served only at its preview host; promote switches; retention keeps 2 and removes old previews', async () => {
    const v2 = await release('v2', 'two');
    await publish(v2.file, '--stage');
    const preview = `${v2.digest.slice(0, 12)}.preview.example.com`;
    await until('preview served', async () => ((await body(preview)) === 'two' ? true : undefined));
    expect(await body('example.com')).toBe('one');
    expect((await mkroot(['publish', '--promote', v2.digest, '--host', 'example.com', '--channel', channel, '--key', key])).code).toBe(0);
    await until('v2 served', async () => ((await body('example.com')) === 'two' ? true : undefined));
    fs.copyFileSync(path.join(channel, 'example.com.json'), path.join(dir, 'v2-manifest.json'));
    // Only the primary follows: one download per node, not one per worker (two here).
    expect(server.log.filter((l) => l.method === 'GET' && l.name === `${v2.digest}.webroot`)).toHaveLength(1);
    const v3 = await release('v3', 'three');
    await publish(v3.file);
    fs.copyFileSync(path.join(channel, 'example.com.json'), path.join(dir, 'v3-manifest.json'));
    await until('v3 served', async () => ((await body('example.com')) === 'three' ? true : undefined));
    const releases = path.join(dir, 'releases', 'example.com');
    await until('v1 deleted', () => (!fs.existsSync(path.join(releases, `${v1Digest}.webroot`)) ? true : undefined));
    expect(fs.readdirSync(releases).filter((n) => n.endsWith('.webroot')).sort()).toEqual([`${v2.digest}.webroot`, `${v3.digest}.webroot`].sort());
    expect((await status()).hosts['example.com']!.follow.previews.sort()).toEqual([preview, `${v3.digest.slice(0, 12)}.preview.example.com`].sort());
    await until('old preview gone', async () => ((await body(`${v1Digest.slice(0, 12)}.preview.example.com`)) !== 'one' ? true : undefined));
  });

  it('a tampered manifest is refused (bad-signature) and counted; nothing changes', async () => {
    const file = path.join(channel, 'example.com.json');
    const good = fs.readFileSync(file, 'utf8');
    const v4 = await release('v4', 'four');
    fs.copyFileSync(v4.file, path.join(channel, `${v4.digest}.webroot`));
    const m = JSON.parse(good) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...m, digest: v4.digest, url: `${v4.digest}.webroot`, size: fs.statSync(v4.file).size }));
    await until('refusal counted', async () => ((await status()).hosts['example.com']!.follow.refusals['bad-signature'] === 1 ? true : undefined));
    expect(await body('example.com')).toBe('three');
    expect(node.logs.some((l) => l.event === 'follow-refused' && l.reason === 'bad-signature')).toBe(true);
  });

  it('a replayed older manifest is refused (stale-manifest); going back needs --rollback (rollback-not-signed), and --rollback is followed', async () => {
    const file = path.join(channel, 'example.com.json');
    // The tampered manifest of the test before is still there; put back the good one it was made from, which is the newest signed.
    const v3Manifest = fs.readFileSync(path.join(dir, 'v3-manifest.json'), 'utf8');
    fs.writeFileSync(file, v3Manifest);
    // A replay: the manifest of v2, older than the one accepted.
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'v2-manifest.json')));
    await until('stale-manifest counted', async () => ((await status()).hosts['example.com']!.follow.refusals['stale-manifest'] === 1 ? true : undefined));
    expect(await body('example.com')).toBe('three');
    fs.writeFileSync(file, v3Manifest);
    const v2 = (await status()).hosts['example.com']!.follow;
    expect(v2.refusals['rollback-not-signed']).toBe(0);
    const d2 = JSON.parse(fs.readFileSync(path.join(dir, 'v2-manifest.json'), 'utf8')).digest as string;
    expect((await mkroot(['publish', '--promote', d2, '--host', 'example.com', '--channel', channel, '--key', key])).code).toBe(0);
    await until('rollback-not-signed counted', async () => ((await status()).hosts['example.com']!.follow.refusals['rollback-not-signed'] === 1 ? true : undefined));
    expect(await body('example.com')).toBe('three');
    expect((await mkroot(['publish', '--rollback', d2, '--host', 'example.com', '--channel', channel, '--key', key])).code).toBe(0);
    await until('v2 served again', async () => ((await body('example.com')) === 'two' ? true : undefined));
  });

  it('after a restart the node keeps its state: it serves what it served, and still refuses a replayed older manifest', async () => {
    const file = path.join(channel, 'example.com.json');
    const current = fs.readFileSync(file);
    expect(await node.stop()).toBe(0);
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'v3-manifest.json')));
    node = await startHttpd(path.join(dir, 'vhosts'), [
      '--workers', '1',
      '--follow', `host=example.com,manifest=${server.url}example.com.json,key=${key}.pub,interval=300ms,timeout=10s`,
      '--releases', path.join(dir, 'releases'),
      '--keep', '2',
      '--status', '127.0.0.1:0',
    ]);
    statusUrl = (await node.waitForLog((l) => l.event === 'status-listening')).url as string;
    await until('stale-manifest counted after the restart', async () => ((await status()).hosts['example.com']!.follow.refusals['stale-manifest'] === 1 ? true : undefined));
    expect(await body('example.com')).toBe('two');
    fs.writeFileSync(file, current);
  });

  it('the status listener answers GET /status only: 404 elsewhere, 405 for other methods, nothing echoed', async () => {
    const base = statusUrl.replace(/\/status$/, '');
    const r404 = await fetch(`${base}/%0d%0aX-Evil:%201`);
    expect(r404.status).toBe(404);
    expect(r404.headers.get('x-evil')).toBeNull();
    expect(await r404.text()).not.toContain('Evil');
    const r405 = await fetch(statusUrl, { method: 'POST', body: 'x' });
    expect(r405.status).toBe(405);
    expect(r405.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(statusUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('with a configuration file, the admin listener answers GET /status too (digests of entries that are not content-addressed are hashed) and /metrics has the follow counters', async () => {
    const vhosts2 = path.join(dir, 'vhosts2');
    fs.mkdirSync(vhosts2);
    fs.symlinkSync(path.join(dir, 'v1.webroot'), path.join(vhosts2, 'plain.example'));
    const conf = path.join(dir, 'httpd.toml');
    fs.writeFileSync(conf, `vhosts = "${vhosts2}"\nadmin = "127.0.0.1:0"\n`);
    const second = await startHttpd(vhosts2, [
      '--config', conf, '--workers', '1', '--status', '127.0.0.1:0',
      '--follow', `host=example.com,manifest=${server.url}example.com.json,key=${key}.pub,interval=300ms`, '--releases', path.join(dir, 'releases-b'),
    ]);
    try {
      const admin = (await second.waitForLog((l) => l.event === 'admin-listening')).url as string;
      const own = (await second.waitForLog((l) => l.event === 'status-listening')).url as string;
      for (const url of [`${admin.replace(/\/$/, '')}/status`, own]) {
        const r = await fetch(url);
        expect(r.status).toBe(200);
        const s = (await r.json()) as { format: string; hosts: Record<string, { digest: string; follow: unknown }> };
        expect(s.format).toBe('webroot-status/1');
        expect(s.hosts['plain.example']).toMatchObject({ digest: v1Digest, follow: null });
      }
      const served = await until('the second node follows too', async () => {
        const s = (await (await fetch(own)).json()) as { hosts: Record<string, { digest: string | null }> };
        return s.hosts['example.com']?.digest ?? undefined;
      });
      const metrics = await (await fetch(`${admin.replace(/\/$/, '')}/metrics`)).text();
      expect(metrics).toContain('webroot_follow_refusals_total{host="example.com",reason="bad-signature"} 0');
      expect(metrics).toContain('webroot_follow_downloads_total{host="example.com"} 1');
      expect(metrics).toContain(`webroot_follow_release_info{host="example.com",digest="${served}"} 1`);
    } finally {
      await second.stop();
    }
  });

  it('bad --follow options: one line naming the problem, exit 2, before anything starts', async () => {
    const vhosts = path.join(dir, 'vhosts');
    const cases: [string[], RegExp][] = [
      [['--follow', 'host=example.com,manifest=http://127.0.0.1:1/a.json,key=nokey.pub', '--releases', path.join(dir, 'r2')], /--follow host=example\.com: key nokey\.pub: no such public key file/],
      [['--follow', `host=example.com,manifest=http://127.0.0.1:1/a.json,key=${key}`, '--releases', path.join(dir, 'r2')], /a private key; give the public key/],
      [['--follow', `host=example.com,manifest=http://127.0.0.1:1/a.json,key=${key}.pub`], /--follow needs --releases DIR/],
      [['--follow', 'host=example.com,interval=1s'], /manifest is missing/],
      [['--status', 'nope'], /--status 'nope' is not \[HOST:\]PORT/],
      [['--keep', '0'], /--keep must be a whole number from 1 to 1000/],
    ];
    const results = await Promise.all(cases.map(([args]) => runNode(HTTPD_BIN, [vhosts, '--port', '0', ...args], { timeoutMs: 20_000 })));
    // A status address already in use (the running node's): one line, exit 1, and the running node is untouched.
    const taken = statusUrl.replace(/^http:\/\/|\/status$/g, '');
    const busy = await runNode(HTTPD_BIN, [vhosts, '--port', '0', '--host', '127.0.0.1', '--status', taken], { timeoutMs: 20_000 });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(`httpd: --status ${taken}: cannot listen (EADDRINUSE); choose another address or port\n`);
    expect((await fetch(statusUrl)).status).toBe(200);
    cases.forEach(([, pattern], i) => {
      const r = results[i]!;
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^httpd: /);
      expect(r.stderr).toMatch(pattern);
    });
  });
});
