import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert } from './helpers/certs.js';
import { startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { freePort, pebbleMissing, startChallTestSrv, startPebble, startRateLimitingCa, type ChallTestSrv, type Pebble } from './helpers/pebble.js';
import { raw } from './helpers/raw.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

// Automatic HTTPS (issue 13) against a real ACME CA: pebble, with pebble-challtestsrv as its DNS
// (every test host name is 127.0.0.1). HTTP-01 is RFC 8555 section 8.3.
const skip = pebbleMissing;
if (skip) console.log(`acme.test.ts: skipped: ${skip}`);

interface Peer {
  serial: string;
  san: string | undefined;
  issuer: string | undefined;
  cn: string | undefined;
  authorized: boolean;
  status: number;
}

/** One HTTPS GET / over a fresh connection with SNI `host`, verifying against `ca` when given. */
function httpsGet(port: number, host: string, ca?: string): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: host, ...(ca ? { ca } : { rejectUnauthorized: false }) });
    const timer = setTimeout(() => (s.destroy(), reject(new Error('timed out'))), 5000);
    let data = '';
    s.once('secureConnect', () => s.end(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.once('end', () => {
      clearTimeout(timer);
      const c = s.getPeerCertificate();
      resolve({ serial: c.serialNumber, san: c.subjectaltname, issuer: c.issuer?.CN as string | undefined, cn: c.subject?.CN as string | undefined, authorized: s.authorized, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0) });
    });
    s.once('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

async function eventually<T>(what: string, get: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const v = await get();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${ms} ms (last error: ${String(last)})`);
}

const acmeArgs = (directory: string, state: string, certs: string) => ['--tls-port', '0', '--certs', certs, '--acme-directory', directory, '--acme-email', 'ops@example.test', '--acme-agree-tos', '--acme-state', state, '--acme-retry', '1'];
const failedFor = (host: string) => (l: Record<string, unknown>) => l.event === 'acme-failed' && l.host === host;

let dns: ChallTestSrv;
let webroot: string;
beforeAll(async () => {
  if (skip) return;
  dns = await startChallTestSrv();
  ({ webroot } = await singleSiteVhosts({ 'index.html': '<p>home</p>\n' }));
});
afterAll(async () => {
  await dns?.stop();
});

/** A vhosts directory with __default__ and `hosts`, all the same site, and a CERTS_DIR with a self-signed __default__. */
function layout(hosts: string[]): { vhosts: string; certs: string; state: string } {
  const vhosts = tmpDir('acme-vhosts-');
  for (const h of ['__default__', ...hosts]) fs.symlinkSync(webroot, path.join(vhosts, h));
  const certs = tmpDir('acme-certs-');
  makeCert(certs, '__default__', { cn: 'default.invalid' });
  return { vhosts, certs, state: path.join(tmpDir('acme-state-'), 'state') };
}

describe.skipIf(skip !== undefined)('ACME with pebble: issuance, hand-placed pairs, added vhosts, refused challenges, restart', () => {
  let pebble: Pebble;
  let srv: RunningHttpd;
  let root: string;
  let dirs: ReturnType<typeof layout>;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    pebble = await startPebble({ httpPort: port, dnsServer: dns.dnsAddress, validitySeconds: 3600 });
    root = await pebble.root();
    dirs = layout(['a.test', 'b.test', 'hand.test', '127.0.0.1']);
    makeCert(dirs.certs, 'hand.test', { cn: 'hand.test' });
    srv = await startHttpd(dirs.vhosts, ['--port', String(port), '--workers', '2', ...acmeArgs(pebble.directoryUrl, dirs.state, dirs.certs)], { NODE_EXTRA_CA_CERTS: pebble.wfeCaFile });
  }, 30_000);
  afterAll(async () => {
    await srv?.stop();
    await pebble?.stop();
  });

  it('both hosts get a certificate from pebble whose SAN is the host; HTTPS with SNI verifies against pebble\'s root', async () => {
    for (const host of ['a.test', 'b.test']) {
      const peer = await eventually(`a verified certificate for ${host}`, async () => {
        const p = await httpsGet(srv.tlsPort!, host, root);
        return p.authorized ? p : undefined;
      });
      expect(peer.san).toBe(`DNS:${host}`);
      expect(peer.issuer).toMatch(/^Pebble Intermediate CA/);
      expect(peer.status).toBe(200);
    }
  }, 30_000);

  it('account key and certificates are 0600 in the state directory', async () => {
    // Workers get a certificate before it is written (acme-issued is logged after the write).
    for (const host of ['a.test', 'b.test']) await srv.waitForLog((l) => l.event === 'acme-issued' && l.host === host, 5000);
    for (const f of ['account.key', 'certs/a.test.crt', 'certs/a.test.key', 'certs/b.test.crt', 'certs/b.test.key']) {
      expect(fs.statSync(path.join(dirs.state, f)).mode & 0o777, f).toBe(0o600);
    }
    expect(fs.readdirSync(path.join(dirs.state, 'certs')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a hand-placed pair wins for its host (no order); an IP-address entry gets none', async () => {
    const peer = await httpsGet(srv.tlsPort!, 'hand.test');
    expect(peer.cn).toBe('hand.test');
    expect(peer.issuer).toBe('hand.test');
    expect(srv.logs.some((l) => l.event === 'acme-order' && l.host === 'hand.test')).toBe(false);
    expect(srv.logs.some((l) => l.event === 'acme-skipped' && l.host === 'hand.test' && l.reason === 'hand-placed')).toBe(true);
    expect(srv.logs.some((l) => l.event === 'acme-skipped' && l.host === '127.0.0.1' && l.reason === 'ip-address')).toBe(true);
  });

  it('a vhost added later gets its certificate within seconds, without a restart', async () => {
    fs.symlinkSync(webroot, path.join(dirs.vhosts, 'c.test'));
    const peer = await eventually('a verified certificate for c.test', async () => {
      const p = await httpsGet(srv.tlsPort!, 'c.test', root);
      return p.authorized ? p : undefined;
    });
    expect(peer.san).toBe('DNS:c.test');
  }, 20_000);

  it('a refused challenge: one log line naming host and cause, the default certificate answers, the listeners keep serving', async () => {
    await dns.addA('refused.test', '127.0.0.2'); // nothing answers there: httpd listens on 127.0.0.1
    fs.symlinkSync(webroot, path.join(dirs.vhosts, 'refused.test'));
    const line = await srv.waitForLog(failedFor('refused.test'), 15_000);
    expect(line.stage).toBe('challenge');
    expect(line.cause).toMatch(/refused the http-01 challenge: .*127\.0\.0\.2/);
    expect(line.serving).toBe('the default certificate');
    expect((await httpsGet(srv.tlsPort!, 'refused.test')).cn).toBe('default.invalid');
    expect((await raw(srv.port, 'GET', '/', {}, 'a.test')).status).toBe(200);
    expect((await httpsGet(srv.tlsPort!, 'a.test', root)).status).toBe(200);
    fs.rmSync(path.join(dirs.vhosts, 'refused.test'));
  }, 20_000);

  it('a restart with the state directory reuses the stored certificates: no new order in pebble', async () => {
    await srv.stop();
    const before = pebble.orders();
    srv = await startHttpd(dirs.vhosts, ['--port', String(port), '--workers', '2', ...acmeArgs(pebble.directoryUrl, dirs.state, dirs.certs)], { NODE_EXTRA_CA_CERTS: pebble.wfeCaFile });
    for (const host of ['a.test', 'b.test', 'c.test']) {
      await srv.waitForLog((l) => l.event === 'acme-cert-reused' && l.host === host, 5000);
      const peer = await eventually(`the stored certificate for ${host}`, async () => {
        const p = await httpsGet(srv.tlsPort!, host, root);
        return p.authorized ? p : undefined;
      }, 5000);
      expect(peer.san).toBe(`DNS:${host}`);
    }
    await new Promise((r) => setTimeout(r, 2500)); // two scheduler ticks
    expect(pebble.orders()).toBe(before);
    expect(srv.logs.filter((l) => l.event === 'acme-order')).toEqual([]);
  }, 30_000);
});

describe.skipIf(skip !== undefined)('ACME with pebble: renewal of short-lived certificates', () => {
  let pebble: Pebble;
  let srv: RunningHttpd;
  let root: string;
  beforeAll(async () => {
    const port = await freePort();
    pebble = await startPebble({ httpPort: port, dnsServer: dns.dnsAddress, validitySeconds: 15 });
    root = await pebble.root();
    const dirs = layout(['r.test']);
    srv = await startHttpd(dirs.vhosts, ['--port', String(port), '--workers', '2', ...acmeArgs(pebble.directoryUrl, dirs.state, dirs.certs)], { NODE_EXTRA_CA_CERTS: pebble.wfeCaFile });
  }, 30_000);
  afterAll(async () => {
    await srv?.stop();
    await pebble?.stop();
  });

  it('a renewal (at 2/3 of 15 s) replaces the certificate in every worker; no request made during it fails', async () => {
    const first = await eventually('the first certificate', async () => {
      const p = await httpsGet(srv.tlsPort!, 'r.test', root);
      return p.authorized ? p : undefined;
    });
    const seen: Peer[] = [];
    const failures: string[] = [];
    const deadline = performance.now() + 15_000;
    let newInARow = 0;
    while (performance.now() < deadline && newInARow < 8) {
      try {
        const p = await httpsGet(srv.tlsPort!, 'r.test', root);
        seen.push(p);
        if (!p.authorized || p.status !== 200) failures.push(`${p.serial}: authorized ${p.authorized}, status ${p.status}`);
        newInARow = p.serial !== first.serial ? newInARow + 1 : 0;
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(failures).toEqual([]);
    expect(newInARow).toBe(8);
    for (const w of [1, 2]) await srv.waitForLog((l) => l.event === 'acme-cert-renewed' && l.host === 'r.test' && l.worker === w, 2000);
  }, 30_000);

  it('pebble stopped during a renewal: the failure is logged with host and cause, retried, the current certificate keeps serving', async () => {
    const current = await httpsGet(srv.tlsPort!, 'r.test', root);
    await pebble.stop();
    const failedBefore = srv.logs.filter(failedFor('r.test')).length;
    const first = await srv.waitForLog((l) => failedFor('r.test')(l) && srv.logs.filter(failedFor('r.test')).indexOf(l) >= failedBefore, 15_000);
    expect(first.cause).toMatch(/cannot reach the CA at https:\/\/127\.0\.0\.1:\d+\/dir \(ECONNREFUSED\)/);
    expect(String(first.serving)).toMatch(/^current certificate until /);
    await srv.waitForLog((l) => failedFor('r.test')(l) && srv.logs.filter(failedFor('r.test')).indexOf(l) >= failedBefore + 1, 5000);
    const still = await httpsGet(srv.tlsPort!, 'r.test', root);
    expect(still.serial).toBe(current.serial);
    expect(still.status).toBe(200);
  }, 30_000);
});

describe.skipIf(skip !== undefined)('ACME bad input: one log line naming host and cause, never a crash or a stopped listener', () => {
  it.each([
    ['a rate limit (rateLimited, Retry-After 2)', 'rate', /the CA's rate limit \(rateLimited\): too many new orders recently/],
    ['a wrong directory URL', 'wrong', /is not an ACME directory .*check --acme-directory/],
    ['an unreachable CA', 'down', /cannot reach the CA at http:\/\/127\.0\.0\.1:\d+\/dir \(ECONNREFUSED\)/],
  ])('%s', async (_name, kind, cause) => {
    const ca = await startRateLimitingCa(2);
    const closed = await freePort();
    const directory = kind === 'rate' ? ca.directoryUrl : kind === 'wrong' ? ca.directoryUrl.replace('/dir', '/wrong') : `http://127.0.0.1:${closed}/dir`;
    const dirs = layout(['x.test']);
    const srv = await startHttpd(dirs.vhosts, ['--workers', '1', ...acmeArgs(directory, dirs.state, dirs.certs)]);
    try {
      const line = await srv.waitForLog(failedFor('x.test'), 10_000);
      expect(line.cause).toMatch(cause);
      expect(line.serving).toBe('the default certificate');
      if (kind === 'rate') {
        expect(line.retryInMs).toBe(2000); // Retry-After over --acme-retry 1 (RFC 8555 section 6.6)
        await eventually('a second order after Retry-After', async () => (ca.orders() >= 2 ? true : undefined), 8000);
      } else {
        await srv.waitForLog((l) => failedFor('x.test')(l) && l.failures === 2, 8000);
      }
      expect((await raw(srv.port, 'GET', '/', {}, 'x.test')).status).toBe(200);
      expect((await httpsGet(srv.tlsPort!, 'x.test')).cn).toBe('default.invalid');
      expect(srv.proc.exitCode).toBeNull();
    } finally {
      await srv.stop();
      await ca.close();
    }
  }, 20_000);

  it('an unwritable state directory at start-up: exit 2 with one line naming it', () => {
    const dirs = layout([]);
    const file = path.join(tmpDir('acme-file-'), 'file');
    fs.writeFileSync(file, '');
    const r = spawnSync(process.execPath, [HTTPD_BIN, dirs.vhosts, '--port', '0', '--host', '127.0.0.1', ...acmeArgs('https://127.0.0.1:1/dir', path.join(file, 'state'), dirs.certs)], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`httpd: ${path.join(file, 'state')}: cannot write the ACME state directory (ENOTDIR); give a directory this user can write\n`);
  });

  it.each([
    [['--acme-directory', 'https://ca.test/dir'], 'httpd: ACME needs --acme-email, --acme-agree-tos, --acme-state as well'],
    [['--acme-directory', 'nope', '--acme-email', 'a@b.test', '--acme-agree-tos', '--acme-state', '/tmp/x'], "httpd: --acme-directory 'nope' is not a URL"],
  ])('flags %j: exit 2, %s', (flags, message) => {
    const dirs = layout([]);
    const r = spawnSync(process.execPath, [HTTPD_BIN, dirs.vhosts, '--port', '0', '--tls-port', '0', '--certs', dirs.certs, ...flags], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
  });

  it('ACME flags with --config FILE that has no TLS listener: exit 2 saying what is missing, not ignored', () => {
    const dirs = layout([]);
    const file = path.join(tmpDir('acme-cfg-'), 'httpd.toml');
    fs.writeFileSync(file, `vhosts = ${JSON.stringify(dirs.vhosts)}\nworkers = 1\n[[listen]]\naddress = "127.0.0.1:0"\n`);
    const r = spawnSync(process.execPath, [HTTPD_BIN, '--config', file, '--acme-directory', 'https://ca.test/dir', '--acme-email', 'a@b.test', '--acme-agree-tos', '--acme-state', dirs.state], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/httpd: .*httpd\.toml: --acme-directory needs a TLS listener to serve its certificates on: give --tls-port and --certs, or add a \[\[listen\]\] entry with tls = true/);
  });

  it('ACME without --tls-port: exit 2 saying so', () => {
    const dirs = layout([]);
    const r = spawnSync(process.execPath, [HTTPD_BIN, dirs.vhosts, '--port', '0', '--acme-directory', 'https://ca.test/dir', '--acme-email', 'a@b.test', '--acme-agree-tos', '--acme-state', dirs.state], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^httpd: --acme-directory needs --tls-port and --certs/);
  });
});

describe.skipIf(skip !== undefined)('ACME: a state directory that cannot be written later', () => {
  it('the certificate is served from memory; one log line names host and cause', async () => {
    const port = await freePort();
    const pebble = await startPebble({ httpPort: port, dnsServer: dns.dnsAddress, validitySeconds: 3600 });
    const dirs = layout(['w.test']);
    fs.mkdirSync(path.join(dirs.state, 'certs', 'w.test.key'), { recursive: true }); // a directory where the key file goes
    const srv = await startHttpd(dirs.vhosts, ['--port', String(port), '--workers', '1', ...acmeArgs(pebble.directoryUrl, dirs.state, dirs.certs)], { NODE_EXTRA_CA_CERTS: pebble.wfeCaFile });
    try {
      // The failure to store (an earlier order may fail its challenge on a loaded machine, when the new worker
      // acknowledges the token after the primary's 2 s wait; that order is retried after --acme-retry).
      const line = await srv.waitForLog((l) => failedFor('w.test')(l) && l.stage !== 'challenge', 15_000);
      expect(line.stage).toBe('store');
      expect(line.cause).toMatch(/^cannot write the state directory \(EISDIR\)/);
      const root = await pebble.root();
      const peer = await eventually('the certificate served from memory', async () => {
        const p = await httpsGet(srv.tlsPort!, 'w.test', root);
        return p.authorized ? p : undefined;
      }, 5000);
      expect(peer.san).toBe('DNS:w.test');
    } finally {
      await srv.stop();
      await pebble.stop();
    }
  }, 30_000);
});
