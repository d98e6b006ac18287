import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { attachHttpd, startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN, ROOT } from './helpers/paths.js';
import { KeepAliveClient, raw } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

const BODY = '<p>upgrade me</p>\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An "installed" httpd the way a package manager lays it out: releases/<build>
 * with bin, dist and package.json, and `current` pointing at one of them. Build b
 * is the same code with another version number, so the log shows which runs.
 */
function installBuilds(): { current: string; bin: string; swap: (build: string) => void } {
  const inst = tmpDir('httpd-install-');
  const pkg = path.join(ROOT, 'packages/httpd');
  for (const [build, version] of [['a', '0.1.0'], ['b', '9.9.9-upgrade-test']] as const) {
    const dir = path.join(inst, 'releases', build);
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(path.join(pkg, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.cpSync(path.join(pkg, 'dist'), path.join(dir, 'dist'), { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string };
    manifest.version = version;
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
    fs.symlinkSync(path.join(pkg, 'node_modules'), path.join(dir, 'node_modules'));
  }
  // A build that cannot start: its code exits at once, as a bad release would.
  const broken = path.join(inst, 'releases', 'broken', 'bin');
  fs.mkdirSync(broken, { recursive: true });
  fs.writeFileSync(path.join(broken, 'httpd.js'), "process.stderr.write('this build is broken\\n');\nprocess.exit(3);\n");
  // A build that starts but never gets ready (hangs before listening).
  const hanging = path.join(inst, 'releases', 'hanging', 'bin');
  fs.mkdirSync(hanging, { recursive: true });
  fs.writeFileSync(path.join(hanging, 'httpd.js'), "process.stderr.write('this build hangs\\n');\nsetInterval(() => {}, 1000);\n");
  const current = path.join(inst, 'current');
  const swap = (build: string) => {
    fs.symlinkSync(path.join('releases', build), `${current}.tmp`);
    fs.renameSync(`${current}.tmp`, current);
  };
  swap('a');
  return { current, bin: path.join(current, 'bin', 'httpd.js'), swap };
}

interface Load {
  ok: number;
  keepAliveOk: number;
  newConnectionOk: number;
  /** Responses that said Connection: close (the draining primary's last one per connection). */
  closedByServer: number;
  failures: string[];
  stop: () => Promise<void>;
}

/** Keep-alive clients (reconnecting when a response says Connection: close) and new-connection clients, until stopped (at most 60 s). */
function startLoad(port: number, keepAlive = 3, newConnection = 2): Load {
  const load: Load = { ok: 0, keepAliveOk: 0, newConnectionOk: 0, closedByServer: 0, failures: [], stop: async () => {} };
  let stopping = false;
  const until = performance.now() + 60_000;
  const running = () => !stopping && performance.now() < until;
  const check = (status: number, body: Buffer) => {
    if (status === 200 && body.toString() === BODY) return true;
    load.failures.push(`status ${status}`);
    return false;
  };
  const keepAliveLoop = async () => {
    let client = new KeepAliveClient(port);
    while (running()) {
      try {
        const r = await client.request('GET', '/');
        if (check(r.status, r.body)) {
          load.ok++;
          load.keepAliveOk++;
        }
        if (r.headers.connection === 'close') {
          load.closedByServer++;
          client.close();
          client = new KeepAliveClient(port);
        }
      } catch (err) {
        load.failures.push(`keep-alive: ${(err as Error).message}`);
        client.close();
        client = new KeepAliveClient(port);
      }
    }
    client.close();
  };
  const newConnectionLoop = async () => {
    while (running()) {
      try {
        const r = await raw(port, 'GET', '/');
        if (check(r.status, r.body)) {
          load.ok++;
          load.newConnectionOk++;
        }
      } catch (err) {
        load.failures.push(`new connection: ${(err as Error).message}`);
      }
    }
  };
  const loops = [...Array.from({ length: keepAlive }, keepAliveLoop), ...Array.from({ length: newConnection }, newConnectionLoop)];
  load.stop = async () => {
    stopping = true;
    await Promise.all(loops);
  };
  return load;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, pred: () => boolean, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('upgrading httpd itself (SIGUSR2, httpd upgrade)', () => {
  let builds: ReturnType<typeof installBuilds>;
  let srv: RunningHttpd;
  let pidFile: string;
  const started = new Set<number>();

  beforeAll(async () => {
    builds = installBuilds();
    const { vhosts } = await singleSiteVhosts({ 'index.html': BODY });
    pidFile = path.join(tmpDir('run-'), 'httpd.pid');
    const proc = spawn(process.execPath, [builds.bin, vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--pid-file', pidFile, '--drain-timeout', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    srv = await attachHttpd(proc);
    started.add(proc.pid!);
    await waitUntil('the pid file', () => fs.existsSync(pidFile));
  });
  afterAll(async () => {
    // The upgraded primary is not our child: stop it by its PID.
    const current = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : 0);
    for (const pid of [...started, current]) if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
    await waitUntil('every primary to stop', () => ![...started, current].some((p) => p && alive(p))).catch(() => {
      for (const pid of [...started, current]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    });
  });

  it('a failed upgrade (the new code exits at start) leaves the old primary serving, and says why (exit status 1)', async () => {
    const oldPid = srv.proc.pid!;
    const load = startLoad(srv.port);
    await sleep(200);
    builds.swap('broken');
    const r = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', pidFile, '--timeout', '20'], { timeoutMs: 30_000 });
    await sleep(200);
    await load.stop();
    builds.swap('a');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^httpd upgrade: failed, primary ${oldPid} keeps serving: the new primary exited before it was ready \\(exit code 3\\)`));
    expect(srv.logs.some((l) => l.raw === 'this build is broken')).toBe(true);
    expect(srv.logs.find((l) => l.event === 'upgrade-failed')).toMatchObject({ pid: oldPid, level: 'error' });
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${oldPid}\n`);
    expect(alive(oldPid)).toBe(true);
    expect(load.failures).toEqual([]);
    expect(load.keepAliveOk).toBeGreaterThan(0);
    expect(load.newConnectionOk).toBeGreaterThan(0);
    expect((await raw(srv.port, 'GET', '/')).status).toBe(200);
  });

  it('a new primary that is not ready within --upgrade-timeout is stopped, and the old one goes on', async () => {
    // A server of its own with a short --upgrade-timeout: the shared one keeps the default, so a loaded machine cannot time out its real upgrade.
    const { vhosts } = await singleSiteVhosts({ 'index.html': BODY });
    const ownPidFile = path.join(tmpDir('run-'), 'httpd.pid');
    const proc = spawn(process.execPath, [builds.bin, vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '1', '--pid-file', ownPidFile, '--upgrade-timeout', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const own = await attachHttpd(proc);
    try {
      await waitUntil('the pid file', () => fs.existsSync(ownPidFile));
      builds.swap('hanging');
      const r = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', ownPidFile, '--timeout', '20'], { timeoutMs: 30_000 });
      builds.swap('a');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`httpd upgrade: failed, primary ${proc.pid} keeps serving: the new primary was not ready within 2 s; it was stopped\n`);
      const failed = own.logs.filter((l) => l.event === 'upgrade-failed').at(-1)!;
      expect(own.logs.some((l) => l.raw === 'this build hangs')).toBe(true);
      await waitUntil('the hanging primary to be gone', () => !alive(failed.newPid as number));
      expect(fs.readFileSync(ownPidFile, 'utf8')).toBe(`${proc.pid}\n`);
      expect((await raw(own.port, 'GET', '/')).status).toBe(200);
    } finally {
      builds.swap('a');
      await own.stop();
    }
  });

  it('an upgrade under keep-alive and new-connection load: 0 failed requests, 0 refused connections, a new primary PID running the new build', async () => {
    const oldPid = srv.proc.pid!;
    const load = startLoad(srv.port);
    await sleep(300);
    builds.swap('b');
    const r = await runNode(builds.bin, ['upgrade', '--pid-file', pidFile, '--timeout', '20'], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const newPid = Number(fs.readFileSync(pidFile, 'utf8'));
    started.add(newPid);
    expect(newPid).not.toBe(oldPid);
    expect(r.stdout).toBe(`upgraded: primary ${oldPid} -> ${newPid}; ${oldPid} drains its connections and exits\n`);
    // The old primary drains (keep-alive clients get one last response with Connection: close) and exits 0.
    const code = await new Promise<number | null>((resolve) => (srv.proc.exitCode !== null ? resolve(srv.proc.exitCode) : srv.proc.on('exit', resolve)));
    expect(code).toBe(0);
    const okAtHandOver = load.ok;
    await sleep(400);
    await load.stop();
    expect(load.failures).toEqual([]);
    // Served before, during and after the hand-over, on both kinds of connection.
    expect(load.ok).toBeGreaterThan(okAtHandOver);
    expect(load.keepAliveOk).toBeGreaterThan(0);
    expect(load.newConnectionOk).toBeGreaterThan(0);
    expect(load.closedByServer).toBeGreaterThan(0);
    const listening = srv.logs.filter((l) => l.event === 'listening');
    expect(listening.map((l) => [l.pid, l.version, l.port])).toEqual([
      [oldPid, '0.1.0', srv.port],
      [newPid, '9.9.9-upgrade-test', srv.port],
    ]);
    expect(listening[1]).toMatchObject({ socket: 'upgrade' });
    expect(alive(newPid)).toBe(true);
    expect((await raw(srv.port, 'GET', '/')).status).toBe(200);
  });
});

describe('httpd upgrade: bad input', () => {
  it('no pid file, a pid file without a PID, or a PID that is not running: exit status 2 with one line', async () => {
    const dir = tmpDir('run-');
    const missing = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', path.join(dir, 'none.pid')], { timeoutMs: 15_000 });
    expect([missing.code, missing.stderr]).toEqual([2, `httpd upgrade: ${path.join(dir, 'none.pid')}: no PID in it (is httpd running with --pid-file ${path.join(dir, 'none.pid')}?)\n`]);
    fs.writeFileSync(path.join(dir, 'junk.pid'), 'not a pid\n');
    const junk = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', path.join(dir, 'junk.pid')], { timeoutMs: 15_000 });
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/no PID in it/);
    // A PID that existed and is gone: a child that has exited and been reaped.
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.on('exit', r));
    fs.writeFileSync(path.join(dir, 'dead.pid'), `${child.pid}\n`);
    const dead = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', path.join(dir, 'dead.pid')], { timeoutMs: 15_000 });
    expect([dead.code, dead.stderr]).toEqual([2, `httpd upgrade: ${path.join(dir, 'dead.pid')} names PID ${child.pid}, which is not running; start httpd instead\n`]);
    const usage = await runNode(HTTPD_BIN, ['upgrade'], { timeoutMs: 15_000 });
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toMatch(/required option '--pid-file <FILE>' not specified/);
  });
});

describe('upgrading with an HTTPS listener', () => {
  it.skipIf(opensslMissing !== undefined)('the TLS socket is handed over too: the same port answers HTTPS after the upgrade, with the same socket', async () => {
    const { vhosts } = await singleSiteVhosts({ 'index.html': BODY });
    const certs = tmpDir('certs-');
    makeCert(certs, '__default__', { cn: 'localhost' });
    const pidFile = path.join(tmpDir('run-'), 'httpd.pid');
    const srv = await startHttpd(vhosts, ['--workers', '1', '--tls-port', '0', '--certs', certs, '--pid-file', pidFile]);
    let newPid = 0;
    try {
      const tlsPort = srv.logs.find((l) => l.event === 'listening')!.tlsPort as number;
      const before = tlsListener(tlsPort);
      expect(await httpsStatus(tlsPort)).toBe(200);
      const r = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', pidFile, '--timeout', '20'], { timeoutMs: 30_000 });
      expect([r.code, r.stderr]).toEqual([0, '']);
      newPid = Number(fs.readFileSync(pidFile, 'utf8'));
      await new Promise((resolve) => (srv.proc.exitCode !== null ? resolve(null) : srv.proc.on('exit', resolve)));
      expect(srv.logs.filter((l) => l.event === 'listening').map((l) => [l.pid, l.port, l.tlsPort])).toEqual([
        [srv.proc.pid, srv.port, tlsPort],
        [newPid, srv.port, tlsPort],
      ]);
      expect(await httpsStatus(tlsPort)).toBe(200);
      expect(tlsListener(tlsPort)).toBe(before);
    } finally {
      await srv.stop();
      if (newPid && alive(newPid)) process.kill(newPid, 'SIGTERM');
      await waitUntil('the new primary to stop', () => !newPid || !alive(newPid)).catch(() => newPid && process.kill(newPid, 'SIGKILL'));
    }
  });
  if (opensslMissing) console.log(`skipped the HTTPS upgrade test: ${opensslMissing}`);
});

/** The inode of the socket listening on `port` (/proc/net/tcp, state 0A): the same inode means it was never re-bound. */
function tlsListener(port: number): string {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found = fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1]!.endsWith(hex) && f[3] === '0A');
  expect(found).toHaveLength(1);
  return found[0]![9]!;
}

function httpsStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('end', () => resolve(Number(data.split(' ')[1])));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no HTTPS response in 10 s')));
  });
}
