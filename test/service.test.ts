import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { attachHttpd, startHttpd, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { raw } from './helpers/raw.js';
import { runNode } from './helpers/run.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

let vhosts: string;
let webroot: string;
beforeAll(async () => {
  ({ vhosts, webroot } = await singleSiteVhosts({ 'index.html': '<p>served as a service</p>\n' }));
});

/** A listening TCP socket on 127.0.0.1, port from the OS, as systemd's socket unit would make it. */
function listeningSocket(): Promise<{ server: net.Server; fd: number; port: number; inode: string }> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      const inode = /socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))![1]!;
      resolve({ server, fd, port: (server.address() as net.AddressInfo).port, inode });
    });
  });
}

/** Inodes of the TCP sockets listening on `port` (/proc/net/tcp, state 0A). */
function listenersOn(port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1]!.endsWith(`:${hex}`) && f[3] === '0A') inodes.push(f[9]!);
    }
  }
  return inodes;
}

/**
 * Starts httpd the way systemd does (sd_listen_fds(3)): the socket as fd 3 and
 * LISTEN_PID set to the PID that execs httpd (sh's $$, kept by exec).
 */
function socketActivated(fd: number, args: string[], env: Record<string, string> = {}) {
  return spawn('sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', process.execPath, HTTPD_BIN, vhosts, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', fd],
    env: { ...process.env, LISTEN_FDS: '1', ...env },
  });
}

describe('socket activation (sd_listen_fds(3), systemd.socket(5))', () => {
  it('serves on the socket systemd passes as fd 3 and never binds one of its own', async () => {
    const sock = await listeningSocket();
    const proc = socketActivated(sock.fd, ['--workers', '2'], { LISTEN_FDNAMES: 'http' });
    // The supervisor keeps no copy: from now on only httpd holds the socket.
    sock.server.close();
    const srv = await attachHttpd(proc);
    try {
      const listening = srv.logs.find((l) => l.event === 'listening')!;
      expect(listening).toMatchObject({ port: sock.port, socket: 'systemd', fd: 3 });
      for (let i = 0; i < 4; i++) {
        const r = await raw(sock.port, 'GET', '/');
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe('<p>served as a service</p>\n');
      }
      // One listening socket on the port, and it is the one the test made: nothing was re-bound.
      expect(listenersOn(sock.port)).toEqual([sock.inode]);
    } finally {
      await srv.stop();
    }
  });

  it('--listen-fd N serves on an inherited socket at any fd (other supervisors)', async () => {
    const sock = await listeningSocket();
    const proc = spawn(process.execPath, [HTTPD_BIN, vhosts, '--listen-fd', '5', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', sock.fd] });
    sock.server.close();
    const srv = await attachHttpd(proc);
    try {
      expect(srv.logs.find((l) => l.event === 'listening')).toMatchObject({ port: sock.port, socket: 'listen-fd', fd: 5 });
      expect((await raw(sock.port, 'GET', '/')).status).toBe(200);
      expect(listenersOn(sock.port)).toEqual([sock.inode]);
    } finally {
      await srv.stop();
    }
  });

  it('refuses a descriptor that is not a listening TCP socket (a file, a unix socket, a closed fd), naming it', async () => {
    const file = path.join(tmpDir(), 'not-a-socket');
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r');
    try {
      const r = spawnSync(process.execPath, [HTTPD_BIN, vhosts, '--listen-fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8', timeout: 15_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^httpd: fd 3 is not an open stream socket \(EINVAL\); pass a listening TCP socket\n$/);
    } finally {
      fs.closeSync(fd);
    }
    const unix = net.createServer().listen(path.join(tmpDir(), 'httpd.sock'));
    await new Promise((r) => unix.once('listening', r));
    try {
      const fdOfUnix = (unix as unknown as { _handle: { fd: number } })._handle.fd;
      const r = spawnSync(process.execPath, [HTTPD_BIN, vhosts, '--listen-fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', fdOfUnix], encoding: 'utf8', timeout: 15_000 });
      expect([r.status, r.stderr]).toEqual([1, 'httpd: fd 3 is a unix socket; httpd serves TCP sockets only: give the socket unit ListenStream=PORT or ADDRESS:PORT\n']);
    } finally {
      unix.close();
    }
    const closed = await runNode(HTTPD_BIN, [vhosts, '--listen-fd', '9'], { timeoutMs: 15_000 });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toBe('httpd: fd 9 is not an open stream socket (EINVAL); pass a listening TCP socket\n');
    expect(closed.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses LISTEN_FDNAMES that does not match LISTEN_FDS, and socket activation without the supervisor', async () => {
    const sock = await listeningSocket();
    try {
      const bad = socketActivated(sock.fd, [], { LISTEN_FDNAMES: 'http:https' });
      const out = await collect(bad);
      expect(out.code).toBe(1);
      expect(out.stderr).toBe('httpd: LISTEN_FDNAMES names 2 sockets but LISTEN_FDS is 1; check the socket unit\n');
      const single = await collect(socketActivated(sock.fd, ['--workers', '0']));
      expect(single.code).toBe(2);
      expect(single.stderr).toBe('httpd: LISTEN_FDS (socket activation) needs the supervisor: use --workers 1 or more, not 0\n');
    } finally {
      sock.server.close();
    }
  });
});

function collect(proc: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const python = spawnSync('python3', ['-c', 'import socket'], { timeout: 10_000 }).status === 0;

/** A unix datagram socket the test listens on, like systemd's notify socket; python3 prints each datagram as a JSON line. */
function notifySocket(): { path: string; messages: string[]; next: (pred: (m: string) => boolean) => Promise<string>; close: () => void } {
  const socketPath = path.join(tmpDir(), 'notify.sock');
  const receiver = spawn(
    'python3',
    ['-u', '-c', 'import json,socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True:\n    print(json.dumps(s.recv(4096).decode()),flush=True)', socketPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const messages: string[] = [];
  const waiters: { pred: (m: string) => boolean; resolve: (m: string) => void }[] = [];
  let rest = '';
  receiver.stdout!.on('data', (c: Buffer) => {
    const lines = (rest + c.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line === 'bound') continue;
      const m = JSON.parse(line) as string;
      messages.push(m);
      for (const w of [...waiters]) {
        if (!w.pred(m)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    path: socketPath,
    messages,
    next: (pred) =>
      new Promise((resolve, reject) => {
        const seen = messages.find(pred);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no matching notification in 10 s; got ${JSON.stringify(messages)}`)), 10_000);
        waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      }),
    close: () => receiver.kill('SIGKILL'),
  };
}

async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('sd_notify(3) readiness, Type=notify', () => {
  it.skipIf(!python)('READY=1 once every worker has loaded its vhosts, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM', async () => {
    const notify = notifySocket();
    await waitForFile(notify.path);
    let srv: RunningHttpd | undefined;
    try {
      srv = await startHttpd(vhosts, ['--workers', '2'], { NOTIFY_SOCKET: notify.path });
      const ready = await notify.next((m) => m.startsWith('READY=1'));
      expect(ready).toBe(`READY=1\nMAINPID=${srv.proc.pid}\nSTATUS=serving with 2 workers`);
      // Both workers had loaded the site when READY=1 was sent.
      expect(srv.logs.filter((l) => l.event === 'vhost-loaded')).toHaveLength(2);
      expect(notify.messages).toHaveLength(1);

      srv.proc.kill('SIGHUP');
      const reloading = await notify.next((m) => m.startsWith('RELOADING=1'));
      expect(reloading).toMatch(new RegExp(`^RELOADING=1\nMONOTONIC_USEC=\\d+\nMAINPID=${srv.proc.pid}$`));
      await notify.next((m) => m.startsWith('READY=1') && m.includes('STATUS=reloaded'));
      expect(notify.messages.map((m) => m.split('\n')[0])).toEqual(['READY=1', 'RELOADING=1', 'READY=1']);

      expect(await srv.stop()).toBe(0);
      await notify.next((m) => m.startsWith('STOPPING=1'));
    } finally {
      await srv?.stop();
      notify.close();
    }
  });
  if (!python) console.log('skipped sd_notify test: python3 is not installed (httpd needs it to send datagrams, and the test to receive them)');
});

function ids(pid: number): { uid: string; gid: string } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uid: /^Uid:\s+(.*)$/m.exec(status)![1]!.trim(), gid: /^Gid:\s+(.*)$/m.exec(status)![1]!.trim() };
}

const root = process.getuid?.() === 0;
describe('--user/--group: dropping root after binding', () => {
  it.skipIf(!root)('the primary and every worker run as uid 65534 (nobody), real, effective and saved', async () => {
    // The dropped user must be able to read the site: the test's temporary directories are 0700.
    for (const p of [vhosts, path.dirname(webroot)]) fs.chmodSync(p, 0o755);
    fs.chmodSync(webroot, 0o644);
    const srv = await startHttpd(vhosts, ['--workers', '2', '--user', 'nobody', '--group', 'nogroup']);
    try {
      await srv.waitForLog(() => srv.logs.filter((l) => l.event === 'vhost-loaded').length === 2);
      const workers = srv.logs.filter((l) => l.event === 'vhost-loaded').map((l) => l.pid as number);
      const nogroup = spawnSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).stdout.split(':')[2]!;
      for (const pid of [srv.proc.pid!, ...workers]) {
        expect(ids(pid)).toEqual({ uid: '65534\t65534\t65534\t65534', gid: `${nogroup}\t${nogroup}\t${nogroup}\t${nogroup}` });
      }
      expect(srv.logs.find((l) => l.event === 'privileges-dropped')).toMatchObject({ user: 'nobody', uid: 65534 });
      expect((await raw(srv.port, 'GET', '/')).status).toBe(200);
    } finally {
      await srv.stop();
    }
  });

  it.skipIf(!root)('after dropping to nobody, an upgrade still works: the new primary gets the socket without binding, and runs as nobody too', async () => {
    for (const p of [vhosts, path.dirname(webroot)]) fs.chmodSync(p, 0o755);
    fs.chmodSync(webroot, 0o644);
    // The pid file is written after the drop, and rewritten by the new primary: its directory belongs to the service user.
    const run = tmpDir('run-');
    fs.chownSync(run, 65534, 65534);
    const pidFile = path.join(run, 'httpd.pid');
    const srv = await startHttpd(vhosts, ['--workers', '1', '--user', 'nobody', '--pid-file', pidFile]);
    let newPid = 0;
    try {
      await waitForFile(pidFile);
      const r = await runNode(HTTPD_BIN, ['upgrade', '--pid-file', pidFile, '--timeout', '20'], { timeoutMs: 30_000 });
      expect([r.code, r.stderr]).toEqual([0, '']);
      newPid = Number(fs.readFileSync(pidFile, 'utf8'));
      expect(newPid).not.toBe(srv.proc.pid);
      expect(ids(newPid).uid).toBe('65534\t65534\t65534\t65534');
      const second = srv.logs.filter((l) => l.event === 'listening')[1];
      expect(second).toMatchObject({ pid: newPid, port: srv.port, socket: 'upgrade' });
      expect(await new Promise((resolve) => (srv.proc.exitCode !== null ? resolve(srv.proc.exitCode) : srv.proc.on('exit', resolve)))).toBe(0);
      expect((await raw(srv.port, 'GET', '/')).status).toBe(200);
    } finally {
      await srv.stop();
      if (newPid) {
        process.kill(newPid, 'SIGTERM');
        for (let i = 0; i < 200 && fs.existsSync(`/proc/${newPid}`); i++) await new Promise((r) => setTimeout(r, 25));
      }
    }
  });
  if (!root) console.log('skipped the --user test: it must run as root to switch users');

  it('an unknown user, or --group alone, is refused before serving', async () => {
    const r = await runNode(HTTPD_BIN, [vhosts, '--port', '0', '--user', 'no-such-user-webroot'], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('httpd: --user no-such-user-webroot: no such user; create it (useradd --system no-such-user-webroot) or name an existing one\n');
    const g = await runNode(HTTPD_BIN, [vhosts, '--port', '0', '--group', 'nogroup'], { timeoutMs: 15_000 });
    expect(g.code).toBe(1);
    expect(g.stderr).toBe('httpd: --group needs --user as well\n');
  });
});
