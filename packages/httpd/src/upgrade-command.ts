import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readPidFile } from './cluster/pid-file.js';
import { upgradeStatusFile, type UpgradeStatus } from './cluster/upgrade.js';

/** Exit statuses of `httpd upgrade`. */
export const UPGRADE_EXIT = { upgraded: 0, failed: 1, usage: 2, timedOut: 3 } as const;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readStatus(file: string): UpgradeStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as UpgradeStatus;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends SIGUSR2 to the primary named by the pid file and waits for the outcome the
 * primary records next to it (PIDFILE.upgrade): 0 when the new primary is ready (the
 * old one then drains and exits), 1 when it failed (the old one goes on serving), 3
 * when nothing was recorded in time.
 */
export async function runUpgrade(pidFile: string, timeoutMs: number, out = process.stdout, err = process.stderr): Promise<number> {
  const pid = readPidFile(pidFile);
  if (pid === undefined) {
    err.write(`httpd upgrade: ${pidFile}: no PID in it (is httpd running with --pid-file ${pidFile}?)\n`);
    return UPGRADE_EXIT.usage;
  }
  if (!alive(pid)) {
    err.write(`httpd upgrade: ${pidFile} names PID ${pid}, which is not running; start httpd instead\n`);
    return UPGRADE_EXIT.usage;
  }
  const statusFile = upgradeStatusFile(pidFile);
  try {
    fs.unlinkSync(statusFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      err.write(`httpd upgrade: cannot remove the old ${statusFile} (${(e as NodeJS.ErrnoException).code}); run as the user httpd runs as\n`);
      return UPGRADE_EXIT.usage;
    }
  }
  try {
    process.kill(pid, 'SIGUSR2');
  } catch (e) {
    err.write(`httpd upgrade: cannot signal PID ${pid} (${(e as NodeJS.ErrnoException).code}); run as the user httpd runs as, or root\n`);
    return UPGRADE_EXIT.usage;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = readStatus(statusFile);
    if (status && status.from === pid) {
      if (status.outcome === 'ready') {
        out.write(`upgraded: primary ${pid} -> ${status.to}; ${pid} drains its connections and exits\n`);
        return UPGRADE_EXIT.upgraded;
      }
      err.write(`httpd upgrade: failed, primary ${pid} keeps serving: ${status.reason}\n`);
      return UPGRADE_EXIT.failed;
    }
    if (!alive(pid)) {
      err.write(`httpd upgrade: primary ${pid} exited without recording an outcome; check the service's log\n`);
      return UPGRADE_EXIT.failed;
    }
    await sleep(100);
  }
  err.write(`httpd upgrade: no outcome within ${timeoutMs / 1000} s; check the service's log\n`);
  return UPGRADE_EXIT.timedOut;
}

export function createUpgradeProgram(): Command {
  return new Command('httpd upgrade')
    .description('Replace the running httpd by a new one started from the installed code, without dropping connections (sends SIGUSR2 and waits).\nExit status: 0 upgraded, 1 the new one failed (the old one keeps serving), 2 usage, 3 no outcome in time.')
    .requiredOption('--pid-file <FILE>', 'the pid file httpd was started with (--pid-file)')
    .addOption(
      new Option('--timeout <s>', 'how long to wait for the outcome')
        .default(60_000, '60')
        .argParser((v) => {
          if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('--timeout must be a number of seconds greater than 0.');
          return Math.round(Number(v) * 1000);
        }),
    )
    .showHelpAfterError('(run httpd upgrade --help for usage)')
    .action(async (opts: { pidFile: string; timeout: number }) => {
      process.exitCode = await runUpgrade(opts.pidFile, opts.timeout);
    });
}
