import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

// HTTPS: certificates per host by SNI (RFC 6066 section 3), the wildcard and default pairs,
// reloads, refused pairs, protocol versions, shared session tickets, --redirect-http, --hsts.
const skip = opensslMissing;
if (skip) console.log(`https.test.ts: skipped: ${skip}`);

interface Handshake {
  cn: string | undefined;
  fingerprint: string;
  protocol: string | null;
  cipher: string;
}

/** One TLS handshake; `servername` undefined sends no SNI. Rejects when the server refuses it. */
function handshake(port: number, servername: string | undefined, extra: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...(servername ? { servername } : {}), ...extra });
    const timer = setTimeout(() => (s.destroy(), reject(new Error('handshake timed out'))), 5000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = s.getPeerCertificate();
      resolve({ cn: cert.subject?.CN as string | undefined, fingerprint: cert.fingerprint256, protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.destroy();
    });
    s.once('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

/** Polls (bounded) until `check` resolves true. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

let vhosts: string;
beforeAll(async () => {
  if (skip) return;
  ({ vhosts } = await singleSiteVhosts({ 'index.html': '<p>home</p>\n', 'a b.html': 'space\n' }));
});

describe.skipIf(skip !== undefined)('certificates by SNI', () => {
  let srv: RunningHttpd;
  let certs: string;
  beforeAll(async () => {
    certs = tmpDir('certs-');
    makeCert(certs, 'a.test', { cn: 'a.test' });
    makeCert(certs, 'b.test', { cn: 'b.test', keyType: 'rsa' });
    makeCert(certs, '_.wild.test', { cn: 'wild', dns: ['*.wild.test'] });
    makeCert(certs, '__default__', { cn: 'default.test' });
    srv = await startHttpd(vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs, '--hsts', '31536000', '--redirect-http', '--rescan-interval', '0.2']);
  });
  afterAll(async () => {
    if (srv) expect(await srv.stop()).toBe(0);
  });

  it.each([
    ['a.test', 'a.test'],
    ['A.TEST', 'a.test'],
    ['b.test', 'b.test'], // an RSA pair beside an ECDSA default: the whole pair, not added to the default's
    ['x.wild.test', 'wild'],
    ['deep.x.wild.test', 'default.test'], // a wildcard covers one label (RFC 6125 section 6.4.3)
    ['wild.test', 'default.test'],
    ['unknown.test', 'default.test'],
    [undefined, 'default.test'], // no SNI
  ])('server name %s gets the certificate of %s', async (name, cn) => {
    expect((await handshake(srv.tlsPort!, name)).cn).toBe(cn);
  });

  it('TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1), with Mozilla intermediate ciphers', async () => {
    expect((await handshake(srv.tlsPort!, 'a.test')).protocol).toBe('TLSv1.3');
    const t12 = await handshake(srv.tlsPort!, 'a.test', { maxVersion: 'TLSv1.2' });
    expect(t12.protocol).toBe('TLSv1.2');
    expect(t12.cipher).toMatch(/^ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/);
    await expect(handshake(srv.tlsPort!, 'a.test', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow(/alert protocol version/);
    // A CBC suite without forward secrecy is not in the list.
    await expect(handshake(srv.tlsPort!, 'b.test', { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })).rejects.toThrow(/alert handshake failure/);
  });

  it('HTTPS responses carry Strict-Transport-Security (RFC 6797 section 6.1), errors included; plain ones do not (7.2)', async () => {
    const ok = await raw({ port: srv.tlsPort!, tls: true, servername: 'a.test' }, 'GET', '/', {}, 'a.test');
    expect(ok.status).toBe(200);
    expect(ok.headers['strict-transport-security']).toBe('max-age=31536000');
    const missing = await raw({ port: srv.tlsPort!, tls: true }, 'GET', '/nope', {}, 'a.test');
    expect(missing.status).toBe(404);
    expect(missing.headers['strict-transport-security']).toBe('max-age=31536000');
    const plain = await raw(srv.port, 'GET', '/', {}, 'other.test');
    expect(plain.status).toBe(200);
    expect(plain.headers).not.toHaveProperty('strict-transport-security');
  });

  it('--redirect-http: 308 to https:// for hosts with a certificate, from the normalised path and the query (RFC 9110 section 15.4.9)', async () => {
    const port = srv.tlsPort!;
    const cases: [string, string, string | undefined][] = [
      ['a.test', '/a%20b.html?x=1&y=2', `https://a.test:${port}/a%20b.html?x=1&y=2`],
      ['A.Test:80', '/docs/../index.html', `https://a.test:${port}/index.html`],
      ['x.wild.test', '/', `https://x.wild.test:${port}/`],
      ['//evil.example', '/', undefined], // not a host: the normal 400
      ['other.test', '/', undefined], // the default certificate does not cover it: served over HTTP
    ];
    for (const [host, target, location] of cases) {
      const r = await raw(srv.port, 'GET', target, {}, host);
      if (location === undefined) expect(r.status, host).not.toBe(308);
      else {
        expect(r.status, host).toBe(308);
        expect(r.headers.location).toBe(location);
      }
    }
    const head = await raw(srv.port, 'HEAD', '/x', {}, 'a.test');
    expect(head.status).toBe(308);
    expect(head.body.length).toBe(0);
    // The redirect does not apply on the HTTPS listener itself.
    expect((await raw({ port, tls: true }, 'GET', '/', {}, 'a.test')).status).toBe(200);
  });

  it('a renewed certificate is used for new handshakes within a second, and open connections go on', async () => {
    const before = await handshake(srv.tlsPort!, 'a.test');
    const open = tls.connect({ port: srv.tlsPort!, host: '127.0.0.1', servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    open.on('error', () => {});
    await new Promise((r) => open.once('secureConnect', r));
    makeCert(certs, 'a.test', { cn: 'a.test' });
    await srv.waitForLog((l) => l.event === 'cert-renewed' && l.name === 'a.test');
    expect(await eventually(async () => (await handshake(srv.tlsPort!, 'a.test')).fingerprint !== before.fingerprint, 1000)).toBe(true);
    const reply = new Promise<string>((resolve) => open.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    open.write('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    expect(await reply).toMatch(/^HTTP\/1\.1 200 /);
    open.destroy();
  });

  it.each([
    ['a key that does not match', (dir: string) => fs.copyFileSync(path.join(dir, 'b.test.key'), path.join(dir, 'a.test.key')), 'does not match'],
    ['an unparsable certificate', (dir: string) => fs.writeFileSync(path.join(dir, 'a.test.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n'), 'does not parse'],
    ['a missing key', (dir: string) => fs.rmSync(path.join(dir, 'a.test.key')), 'no matching key file'],
  ])('%s is refused with a log line naming both files and the reason; the previous certificate keeps serving', async (_what, breakIt, reason) => {
    srv.logs.forEach((l) => seen.add(l));
    makeCert(certs, 'a.test', { cn: 'a.test' });
    await srv.waitForLog((l) => l.event === 'cert-renewed' && l.name === 'a.test' && !seen.has(l));
    // A rescan may have seen the new key beside the old certificate (two renames): that refusal is not this case's.
    srv.logs.forEach((l) => seen.add(l));
    const good = await handshake(srv.tlsPort!, 'a.test');
    breakIt(certs);
    const line = await srv.waitForLog((l) => l.event === 'cert-refused' && !seen.has(l));
    seen.add(line);
    expect(line.cert).toBe(path.join(certs, 'a.test.crt'));
    expect(line.key).toBe(path.join(certs, 'a.test.key'));
    expect(String(line.reason)).toContain(reason);
    expect(line.keeping).toBe('previous certificate');
    expect((await handshake(srv.tlsPort!, 'a.test')).fingerprint).toBe(good.fingerprint);
    expect((await raw({ port: srv.tlsPort!, tls: true, servername: 'a.test' }, 'GET', '/', {}, 'a.test')).status).toBe(200);
  });
  const seen = new Set<Record<string, unknown>>();
});

const opensslSession = (args: string[], port: number): string => {
  // The request makes s_client wait for the response, by which time TLS 1.3 tickets have arrived.
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test', '-ign_eof', ...args], {
    input: 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
    encoding: 'utf8',
    timeout: 10_000,
  });
  return /^(New|Reused), /m.exec(r.stdout)?.[1] ?? `no session line: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`;
};

describe.skipIf(skip !== undefined)('session tickets shared by the workers (RFC 8446 section 4.6.1, RFC 5077)', () => {
  let certs: string;
  let srv: RunningHttpd;
  beforeAll(async () => {
    certs = tmpDir('certs-');
    makeCert(certs, 'a.test', { cn: 'a.test' });
    srv = await startHttpd(vhosts, ['--workers', '2', '--tls-port', '0', '--certs', certs]);
    expect(await eventually(async () => new Set(srv.logs.filter((l) => l.event === 'cert-loaded').map((l) => l.pid)).size === 2, 10_000)).toBe(true);
  });
  afterAll(async () => {
    if (srv) expect(await srv.stop()).toBe(0);
  });

  it.each(['-tls1_3', '-tls1_2'])('openssl s_client %s resumes with a ticket on workers that never issued it', async (version) => {
    const sess = path.join(tmpDir('sess-'), 'sess.pem');
    expect(opensslSession([version, '-sess_out', sess], srv.tlsPort!)).toBe('New');
    // Replace both workers: the new ones get the keys from the primary, and never saw this ticket.
    const pids = [...new Set(srv.logs.filter((l) => l.event === 'cert-loaded').map((l) => l.pid as number))].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(pids).toHaveLength(2);
    const loadedBefore = srv.logs.filter((l) => l.event === 'cert-loaded').length;
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    expect(await eventually(async () => srv.logs.filter((l) => l.event === 'cert-loaded').length >= loadedBefore + 2, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 4; i++) expect(opensslSession([version, '-sess_in', sess], srv.tlsPort!)).toBe('Reused');
  });

  it('a ticket from another service (other keys) is not resumed: a full handshake instead', async () => {
    const sess = path.join(tmpDir('sess-'), 'sess.pem');
    expect(opensslSession(['-tls1_3', '-sess_out', sess], srv.tlsPort!)).toBe('New');
    const other = await startHttpd(vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs]);
    try {
      expect(opensslSession(['-tls1_3', '-sess_in', sess], other.tlsPort!)).toBe('New');
    } finally {
      expect(await other.stop()).toBe(0);
    }
  });
});

describe.skipIf(skip !== undefined)('TLS options at start-up', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [HTTPD_BIN, vhosts, '--port', '0', '--host', '127.0.0.1', ...args], { encoding: 'utf8', timeout: 10_000 });

  it.each([
    [['--tls-port', '0'], '--tls-port needs --certs CERTS_DIR'],
    [['--certs', '/tmp'], '--certs needs --tls-port PORT'],
    [['--redirect-http'], '--redirect-http needs --tls-port and --certs'],
    [['--hsts', '60'], '--hsts needs --tls-port and --certs'],
    [['--tls-port', '0', '--certs', '/no/such/dir'], '/no/such/dir: no such directory; give the directory of certificate'],
    [['--tls-port', '70000', '--certs', '/tmp'], '--tls-port must be a whole number from 0 to 65535'],
    [['--tls-port', '0', '--certs', '/tmp', '--hsts', 'soon'], '--hsts must be a whole number'],
  ])('%j fails with one clear line', (args, message) => {
    const r = run(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('the TLS options work next to --config FILE', async () => {
    const certs = tmpDir('certs-');
    makeCert(certs, '__default__', { cn: 'localhost' });
    const file = path.join(tmpDir('conf-'), 'httpd.toml');
    fs.writeFileSync(file, `vhosts = ${JSON.stringify(vhosts)}\nworkers = 1\n[[listen]]\naddress = "127.0.0.1:0"\n`);
    const srv = await startHttpd(vhosts, ['--config', file, '--tls-port', '0', '--certs', certs, '--hsts', '60']);
    try {
      const r = await raw({ port: srv.tlsPort!, tls: true }, 'GET', '/');
      expect(r.status).toBe(200);
      expect(r.headers['strict-transport-security']).toBe('max-age=60');
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('a TLS port already in use is a clear error naming --tls-port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      for (const workers of ['1', '0']) {
        const r = run(['--workers', workers, '--tls-port', String(port), '--certs', tmpDir('certs-')]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: address already in use; stop the other server or choose another --tls-port`);
      }
    } finally {
      blocker.close();
    }
  });
});

// Every TLS write is reported done from a setImmediate, even when the kernel took it at once
// (node's TLSWrap); a response only waits under the --send-timeout watch when its bytes are still
// queued for the TCP socket (server/fast-socket.ts socketWriteQueued). So the watch must still start
// for a client that pipelines cached responses and reads none of them.
describe.skipIf(skip !== undefined)('HTTPS/1.1 --send-timeout', () => {
  it('a client that pipelines requests for a cached 200 KB file and reads nothing is cut after --send-timeout 2', async () => {
    const certs = tmpDir('certs-');
    makeCert(certs, '__default__', { cn: 'default.test' });
    const site = await singleSiteVhosts({ 'big.bin': Buffer.alloc(200 * 1024, 0x62) });
    const srv = await startHttpd(site.vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs, '--send-timeout', '2', '--keepalive-timeout', '30', '--log-level', 'debug']);
    try {
      const socket = tls.connect({ port: srv.tlsPort!, host: '127.0.0.1', rejectUnauthorized: false });
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
      socket.pause(); // read nothing
      const started = performance.now();
      // 200 responses of 200 KB: 40 MB, far more than the socket buffers hold; the first ones make the object cached.
      socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
      const closedAfter = await new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(Infinity), 12_000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(performance.now() - started);
        });
        // A paused socket sees no 'end': the server's close shows once we read again.
        setTimeout(() => socket.resume(), 3_300);
      });
      socket.destroy();
      expect(closedAfter).toBeLessThan(8_000);
      await srv.waitForLog((l) => l.event === 'send-timeout');
    } finally {
      await srv.stop();
    }
  });
});
