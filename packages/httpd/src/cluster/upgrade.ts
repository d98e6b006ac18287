import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import type { InheritedFd } from './socket-activation.js';

/**
 * Upgrading httpd itself (SIGUSR2, nginx's convention): the running primary starts a
 * new primary from the installed code with its listening sockets, waits until the new
 * one's workers all listen, then drains and exits; the sockets are never closed, so no
 * connection is refused. A new primary that exits or does not get ready in time is
 * stopped and the old one keeps serving.
 *
 * The hand-over is in the environment, not LISTEN_FDS: sd_listen_fds needs LISTEN_PID,
 * the child's PID, which a parent cannot put in the child's environment with Node.
 */
export const UPGRADE_FDS_ENV = 'WEBROOT_UPGRADE_FDS';
export const UPGRADE_READY_FD_ENV = 'WEBROOT_UPGRADE_READY_FD';
export const UPGRADE_FROM_ENV = 'WEBROOT_UPGRADE_FROM';

export interface UpgradeHandoff {
  fds: InheritedFd[];
  readyFd: number;
  fromPid: number;
}

export type HandoffOutcome = { kind: 'none' } | { kind: 'handoff'; handoff: UpgradeHandoff } | { kind: 'error'; message: string };

/** Reads the hand-over variables ("3:http,4:https", the ready pipe's fd, the old PID). Pure. */
export function parseUpgradeEnv(env: Record<string, string | undefined>): HandoffOutcome {
  const fdsText = env[UPGRADE_FDS_ENV];
  if (fdsText === undefined) return { kind: 'none' };
  const fds: InheritedFd[] = [];
  for (const part of fdsText.split(',')) {
    const m = /^(\d+):([A-Za-z0-9_.-]*)$/.exec(part);
    if (!m) return { kind: 'error', message: `${UPGRADE_FDS_ENV}=${JSON.stringify(fdsText)} is malformed (expected fd:name,...)` };
    fds.push({ fd: Number(m[1]), name: m[2] || 'unknown' });
  }
  const ready = env[UPGRADE_READY_FD_ENV] ?? '';
  const from = env[UPGRADE_FROM_ENV] ?? '';
  if (!/^\d+$/.test(ready) || !/^\d+$/.test(from)) return { kind: 'error', message: `${UPGRADE_READY_FD_ENV} and ${UPGRADE_FROM_ENV} must be numbers` };
  return { kind: 'handoff', handoff: { fds, readyFd: Number(ready), fromPid: Number(from) } };
}

export function forgetUpgradeEnv(env: NodeJS.ProcessEnv): void {
  delete env[UPGRADE_FDS_ENV];
  delete env[UPGRADE_READY_FD_ENV];
  delete env[UPGRADE_FROM_ENV];
}

/** In the new primary, once every worker listens: tells the old primary it may stop. */
export function reportReady(handoff: UpgradeHandoff): void {
  try {
    fs.writeSync(handoff.readyFd, `ready ${process.pid}\n`);
    fs.closeSync(handoff.readyFd);
  } catch {
    // The old primary is gone (killed meanwhile): nobody is waiting.
  }
}

export type UpgradeOutcome = { ok: true; pid: number } | { ok: false; pid?: number; reason: string };

/**
 * In the old primary: starts `process.argv` again (the same command line, so the code
 * the installed bin points at now) with `sockets` as fds 3.., and resolves once it is
 * ready, or with the reason it is not (then it has been stopped).
 */
export function startUpgrade(sockets: InheritedFd[], timeoutMs: number): Promise<UpgradeOutcome> {
  const readyFd = 3 + sockets.length;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [UPGRADE_FDS_ENV]: sockets.map((s, i) => `${3 + i}:${s.name}`).join(','),
    [UPGRADE_READY_FD_ENV]: String(readyFd),
    [UPGRADE_FROM_ENV]: String(process.pid),
  };
  delete env.WEBROOT_WORKER_ID;
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', ...sockets.map((s) => s.fd), 'pipe'],
    env,
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: UpgradeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pipe?.destroy();
      if (!outcome.ok && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // The new primary outlives us: nothing here may keep this process alive for it.
      child.unref();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, pid: child.pid, reason: `the new primary was not ready within ${timeoutMs / 1000} s; it was stopped` }), timeoutMs);
    const pipe = child.stdio[readyFd] as Socket | null;
    let text = '';
    pipe?.on('data', (c: Buffer) => {
      text += c.toString();
      if (/^ready \d+\n/.test(text)) finish({ ok: true, pid: child.pid! });
    });
    pipe?.on('error', () => {});
    child.on('error', (err) => finish({ ok: false, reason: `cannot start ${process.execPath}: ${err.message}` }));
    child.on('exit', (code, signal) =>
      finish({ ok: false, pid: child.pid, reason: `the new primary exited before it was ready (${signal ? `signal ${signal}` : `exit code ${code}`}); its log lines above say why` }),
    );
  });
}

/** What the old primary records next to its pid file for `httpd upgrade` to read. */
export interface UpgradeStatus {
  from: number;
  outcome: 'ready' | 'failed';
  to?: number;
  reason?: string;
}

export function upgradeStatusFile(pidFile: string): string {
  return `${pidFile}.upgrade`;
}

export function writeUpgradeStatus(pidFile: string, status: UpgradeStatus): void {
  const file = upgradeStatusFile(pidFile);
  try {
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(status)}\n`, { mode: 0o644 });
    fs.renameSync(`${file}.tmp`, file);
  } catch {
    // The status is a convenience for `httpd upgrade`; the log has the outcome too.
  }
}
