import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachHttpd, type RunningHttpd } from './helpers/httpd.js';
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
  const until = Date.now() + 60_000;
  const running = () => !stopping && Date.now() < until;
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
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
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
    const proc = spawn(process.execPath, [builds.bin, vhosts, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--pid-file', pidFile, '--drain-timeout', '5', '--upgrade-timeout', '6'], {
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
    const oldPid = srv.proc.pid!;
    builds.swap('hanging');
    const r = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', pidFile, '--timeout', '20'], { timeoutMs: 30_000 });
    builds.swap('a');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`httpd upgrade: failed, primary ${oldPid} keeps serving: the new primary was not ready within 6 s; it was stopped\n`);
    const failed = srv.logs.filter((l) => l.event === 'upgrade-failed').at(-1)!;
    expect(srv.logs.some((l) => l.raw === 'this build hangs')).toBe(true);
    await waitUntil('the hanging primary to be gone', () => !alive(failed.newPid as number));
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(`${oldPid}\n`);
    expect((await raw(srv.port, 'GET', '/')).status).toBe(200);
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
