import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { freePort } from './helpers/pebble.js';
import { runNode } from './helpers/run.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

// Issue 12: several [[listen]] entries, each plain or tls = true, and the [tls] keys
// (what --certs, --redirect-http and --hsts set), through the real CLI.
const skip = opensslMissing;
if (skip) console.log(`listeners.test.ts: skipped: ${skip}`);

const httpd = (args: string[]) => runNode(HTTPD_BIN, args, { timeoutMs: 15_000 });

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET over a new connection: plain, or TLS with SNI `host` (the test's self-signed certificates are not verified here). */
function get(url: string, host: string, p = '/'): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const options = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), path: p, headers: { host }, agent: false as const, timeout: 5000 };
    const req =
      u.protocol === 'https:'
        ? https.get({ ...options, servername: host, rejectUnauthorized: false }, done)
        : http.get(options, done);
    function done(res: http.IncomingMessage) {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

/** Whether anything accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const urlsOf = (h: RunningHttpd) => (h.logs.find((l) => l.event === 'listening')!.listeners as { url: string; tls: boolean }[]).map((l) => l.url);

let dir: string;
let vhosts: string;
let certs: string;
beforeAll(async () => {
  if (skip) return;
  dir = tmpDir('listeners-');
  ({ vhosts } = await singleSiteVhosts({ 'index.html': '<p>listeners</p>\n' }));
  fs.symlinkSync(fs.readlinkSync(path.join(vhosts, '__default__')), path.join(vhosts, 'a.test'));
  certs = tmpDir('listeners-certs-');
  makeCert(certs, '__default__', { cn: 'default.invalid' });
  makeCert(certs, 'a.test', { cn: 'a.test' });
});

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const listen = (address: string, tls = false) => `[[listen]]\naddress = "${address}"\n${tls ? 'tls = true\n' : ''}`;

describe.skipIf(skip !== undefined)('several [[listen]] entries from a configuration file alone', () => {
  let h: RunningHttpd;
  let file: string;
  let spare: number;
  beforeAll(async () => {
    spare = await freePort();
    file = writeConfig(
      'multi.toml',
      `vhosts = ${JSON.stringify(vhosts)}\nworkers = 2\ncache_control = "no-cache"\n\n${listen('127.0.0.1:0')}\n${listen('127.0.0.1:0')}\n${listen('127.0.0.1:0', true)}\n${listen('[::1]:0', true)}\n[tls]\ncerts = ${JSON.stringify(certs)}\nhsts = 600\n`,
    );
    h = await startHttpdWith(['--config', file]);
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('the listening line lists every listener: the first plain, the first TLS, then the others in file order', () => {
    const urls = urlsOf(h);
    expect(urls).toHaveLength(4);
    expect(urls.map((u) => new URL(u).protocol)).toEqual(['http:', 'https:', 'http:', 'https:']);
    expect(new URL(urls[3]!).hostname).toBe('[::1]');
    expect(new Set(urls.map((u) => new URL(u).port)).size).toBe(4);
    expect(urls[0]).toBe(`http://127.0.0.1:${h.port}/`);
    expect(urls[1]).toBe(`https://127.0.0.1:${h.tlsPort}/`);
  });

  it('each listener answers the same site; TLS ones with the certificate of the SNI name and HSTS (RFC 6797 section 7.2: never over plain HTTP)', async () => {
    for (const url of urlsOf(h)) {
      // Several connections per listener, so both workers' copies are likely to be exercised.
      for (let i = 0; i < 4; i++) {
        const r = await get(url, 'a.test');
        expect(r.status, url).toBe(200);
        expect(r.body).toBe('<p>listeners</p>\n');
        if (url.startsWith('https:')) expect(r.headers['strict-transport-security']).toBe('max-age=600');
        else expect(r.headers['strict-transport-security']).toBeUndefined();
      }
    }
  });

  it('both TLS listeners offer h2 by ALPN (RFC 7301), like --tls-port', async () => {
    for (const url of urlsOf(h).filter((u) => u.startsWith('https:'))) {
      const u = new URL(url);
      const alpn = await new Promise<string | false>((resolve, reject) => {
        const s = tls.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
        s.once('secureConnect', () => (resolve(s.alpnProtocol ?? false), s.destroy()));
        s.once('error', reject);
      });
      expect(alpn, url).toBe('h2');
    }
  });

  it('check-config prints every listener and the [tls] keys', async () => {
    const r = await httpd(['check-config', file, '--json']);
    expect(r.code).toBe(0);
    const c = (JSON.parse(r.stdout) as { config: Record<string, unknown> }).config;
    expect(c.listen).toEqual([
      { address: '127.0.0.1:0', tls: false },
      { address: '127.0.0.1:0', tls: true },
      { address: '127.0.0.1:0', tls: false },
      { address: '[::1]:0', tls: true },
    ]);
    expect(c.tls).toEqual({ certs, redirect_http: false, hsts: 600 });
    const toml = await httpd(['check-config', file]);
    expect(toml.stdout).toContain(`[tls]\ncerts = ${JSON.stringify(certs)}\nredirect_http = false\nhsts = 600\n`);
  });

  it('a reload that adds a listener names it as restart-only and binds nothing; the rest of the edit applies; every listener keeps answering', async () => {
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('cache_control = "no-cache"', 'cache_control = "max-age=5"') + `\n${listen(`127.0.0.1:${spare}`)}`);
    h.proc.kill('SIGHUP');
    const line = await h.waitForLog((l) => l.event === 'config-reloaded', 10_000);
    expect(line.changed).toEqual(['cacheControl', 'extraListeners']);
    expect(line.restartRequired).toEqual(['extraListeners']);
    expect(line.level).toBe('warn');
    await until('the new Cache-Control on every listener', async () => {
      for (const url of urlsOf(h)) if ((await get(url, 'a.test')).headers['cache-control'] !== 'max-age=5') return undefined;
      return true;
    });
    expect(await accepts(spare)).toBe(false);
    fs.writeFileSync(file, text);
  });

  it('a reload with a broken certificate pair is config-rejected and changes nothing', async () => {
    const text = fs.readFileSync(file, 'utf8');
    const rejectedBefore = h.logs.filter((l) => l.event === 'config-rejected').length;
    const broken = tmpDir('listeners-broken-');
    fs.writeFileSync(path.join(broken, 'b.test.crt'), 'not a certificate\n');
    fs.writeFileSync(path.join(broken, 'b.test.key'), 'not a key\n');
    fs.writeFileSync(file, text.replace(JSON.stringify(certs), JSON.stringify(broken)).replace('cache_control = "no-cache"', 'cache_control = "no-store"'));
    h.proc.kill('SIGHUP');
    await until('config-rejected', () => (h.logs.filter((l) => l.event === 'config-rejected').length > rejectedBefore ? true : undefined));
    const rejected = h.logs.filter((l) => l.event === 'config-rejected').at(-1)!;
    expect((rejected.problems as string[]).join('\n')).toMatch(/multi\.toml:\d+:1: tls\.certs: .*b\.test\.crt \+ b\.test\.key: the certificate does not parse as PEM/);
    for (const url of urlsOf(h)) expect((await get(url, 'a.test')).headers['cache-control']).not.toBe('no-store');
    fs.writeFileSync(file, text);
  });
});

describe.skipIf(skip !== undefined)('[tls] keys against the flags, redirect_http, one process', () => {
  it('redirect_http on an extra plain listener sends 308 to the TLS listener (RFC 9110 section 15.4.9); a flag wins over [tls] and the log says so', async () => {
    const file = writeConfig('redirect.toml', `vhosts = ${JSON.stringify(vhosts)}\nworkers = 1\n${listen('127.0.0.1:0')}${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}[tls]\ncerts = ${JSON.stringify(certs)}\nredirect_http = true\nhsts = 600\n`);
    const h = await startHttpdWith(['--config', file, '--hsts', '99']);
    try {
      const [, , extra] = urlsOf(h);
      const r = await get(extra!, 'a.test', '/x?y=1');
      expect(r.status).toBe(308);
      expect(r.headers.location).toBe(`https://a.test:${h.tlsPort}/x?y=1`);
      // A host no certificate names (only __default__ answers for it) is served over HTTP.
      expect((await get(extra!, 'other.test')).status).toBe(200);
      expect((await get(`https://127.0.0.1:${h.tlsPort}/`, 'a.test')).headers['strict-transport-security']).toBe('max-age=99');
      expect((await h.waitForLog((l) => l.event === 'config-overridden')).keys).toEqual(['hstsSeconds']);
    } finally {
      await h.stop();
    }
  });

  it('--workers 0 (no supervisor) binds every listener itself', async () => {
    const file = writeConfig('lone.toml', `vhosts = ${JSON.stringify(vhosts)}\nworkers = 0\n${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}[tls]\ncerts = ${JSON.stringify(certs)}\n`);
    const h = await startHttpdWith(['--config', file]);
    try {
      const urls = urlsOf(h);
      expect(urls).toHaveLength(4);
      for (const url of urls) expect((await get(url, 'a.test')).status, url).toBe(200);
    } finally {
      await h.stop();
    }
  });

  it('an upgrade (SIGUSR2) hands every listener to the new primary as it is: the same ports, each answering', async () => {
    const file = writeConfig('upgrade.toml', `vhosts = ${JSON.stringify(vhosts)}\nworkers = 1\n${listen('127.0.0.1:0')}${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}${listen('127.0.0.1:0', true)}[tls]\ncerts = ${JSON.stringify(certs)}\n`);
    const pidFile = path.join(tmpDir('listeners-run-'), 'httpd.pid');
    const h = await startHttpdWith(['--config', file, '--pid-file', pidFile, '--drain-timeout', '2']);
    let newPid = 0;
    try {
      const before = urlsOf(h);
      await until('the pid file', () => (fs.existsSync(pidFile) ? true : undefined));
      h.proc.kill('SIGUSR2');
      newPid = (await h.waitForLog((l) => l.event === 'upgraded', 20_000)).newPid as number;
      expect(await h.stop('SIGTERM')).toBe(0);
      const after = h.logs.filter((l) => l.event === 'listening');
      expect(after).toHaveLength(2);
      expect((after[1]!.listeners as { url: string }[]).map((l) => l.url)).toEqual(before);
      for (const url of before) expect((await get(url, 'a.test')).status, url).toBe(200);
      expect(h.logs.some((l) => l.event === 'inherited-socket-unused')).toBe(false);
    } finally {
      if (newPid) {
        process.kill(newPid, 'SIGTERM');
        await until('the new primary to stop', () => {
          try {
            process.kill(newPid, 0);
            return undefined;
          } catch {
            return true;
          }
        });
      }
      await h.stop('SIGKILL');
    }
  }, 40_000);

  it('a listener whose port is taken stops start-up with exit 1, naming it; nothing is left listening', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    const free = await freePort();
    try {
      const file = writeConfig('taken.toml', `vhosts = ${JSON.stringify(vhosts)}\nworkers = 1\n${listen(`127.0.0.1:${free}`)}${listen(`127.0.0.1:${port}`)}`);
      const r = await httpd(['--config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`httpd: cannot listen on 127.0.0.1:${port}: address already in use; stop the other server or change that [[listen]] entry`);
      expect(await accepts(free)).toBe(false);
    } finally {
      taken.close();
    }
  });
});

describe.skipIf(skip !== undefined)('bad [[listen]] and [tls] values: FILE:LINE:COLUMN, exit 1 from check-config and 2 at start-up', () => {
  // The third field: also start httpd with it (exit 2, the same lines); loadConfigFile is shared, so a few cases suffice.
  const cases: [string, () => string, RegExp[], boolean?][] = [
    ['two entries on one address', () => `${listen('127.0.0.1:18080')}${listen('127.0.0.1:18080')}`, [/bad\.toml:5:1: listen\[1\]\.address: 127\.0\.0\.1:18080 overlaps the listener 127\.0\.0\.1:18080 \(listen\[0\]\); give each \[\[listen\]\] entry its own port/], true],
    ['a TLS entry on a wildcard overlapping a plain one', () => `${listen('127.0.0.1:18443')}${listen('*:18443', true)}[tls]\ncerts = "CERTS"\n`, [/bad\.toml:5:1: listen\[1\]\.address: 0\.0\.0\.0:18443 overlaps the listener 127\.0\.0\.1:18443 \(listen\[0\]\)/]],
    ['the admin listener on an extra listener\'s port', () => `admin = "127.0.0.1:18081"\n${listen('127.0.0.1:18080')}${listen('127.0.0.1:18081')}`, [/bad\.toml:2:1: admin: overlaps the listener 127\.0\.0\.1:18081; give the admin listener its own port/]],
    ['only TLS entries', () => `${listen('127.0.0.1:18443', true)}[tls]\ncerts = "CERTS"\n`, [/bad\.toml:2:1: listen\[0\]: every \[\[listen\]\] entry has tls = true; add a plain one too/]],
    ['[tls] certs without a TLS listener', () => `[tls]\ncerts = "CERTS"\n`, [/bad\.toml:3:1: tls\.certs: certificates but no TLS listener: add a \[\[listen\]\] entry with tls = true/]],
    ['redirect_http and hsts without a TLS listener', () => `[tls]\nredirect_http = true\nhsts = 60\n`, [/bad\.toml:3:1: tls\.redirect_http: redirect_http needs a TLS listener/, /bad\.toml:4:1: tls\.hsts: hsts is sent on HTTPS responses only/]],
    ['hsts as a duration string', () => `${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}[tls]\ncerts = "CERTS"\nhsts = "1y"\n`, [/bad\.toml:9:1: tls\.hsts: expected a whole number from 0 to 2147483647, got a string "1y"/]],
    ['a misspelt [tls] key', () => `[tls]\nredirect_htp = true\n`, [/bad\.toml:3:1: tls\.redirect_htp: unknown key in tls; did you mean 'redirect_http'\?/]],
    ['a missing certificates directory', () => `${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}[tls]\ncerts = "no-such-certs"\n`, [/bad\.toml:8:1: tls\.certs: .*no-such-certs: no such directory; give the directory of <host>\.crt and <host>\.key pairs/]],
    ['pairs that cannot be served: no key, a key of another certificate', () => `${listen('127.0.0.1:0')}${listen('127.0.0.1:0', true)}[tls]\ncerts = "BADCERTS"\n`, [/bad\.toml:8:1: tls\.certs: .*lonely\.test\.crt: no matching key file; put the private key in lonely\.test\.key/, /bad\.toml:8:1: tls\.certs: .*mixed\.test\.crt \+ mixed\.test\.key: the private key does not match the certificate/], true],
  ];
  let badCerts: string;
  beforeAll(() => {
    badCerts = tmpDir('listeners-badcerts-');
    makeCert(badCerts, 'lonely.test', { cn: 'lonely.test' });
    fs.rmSync(path.join(badCerts, 'lonely.test.key'));
    makeCert(badCerts, 'mixed.test', { cn: 'mixed.test' });
    const other = tmpDir('listeners-other-');
    makeCert(other, 'x', { cn: 'x' });
    fs.copyFileSync(path.join(other, 'x.key'), path.join(badCerts, 'mixed.test.key'));
  });
  it.each(cases)('%s', async (_name, text, messages, alsoStart) => {
    const sub = tmpDir('listeners-bad-');
    const file = path.join(sub, 'bad.toml');
    fs.writeFileSync(file, `vhosts = ${JSON.stringify(vhosts)}\n${text().replaceAll('"BADCERTS"', JSON.stringify(badCerts)).replaceAll('"CERTS"', JSON.stringify(certs))}`);
    const r = await httpd(['check-config', file]);
    expect(r.code).toBe(1);
    for (const m of messages) expect(r.stderr).toMatch(m);
    expect(r.stderr.trim().split('\n')).toHaveLength(messages.length + 1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (!alsoStart) return;
    const start = await httpd(['--config', file]);
    expect(start.code).toBe(2);
    for (const m of messages) expect(start.stderr).toMatch(m);
  });
});
