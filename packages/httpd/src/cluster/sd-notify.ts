import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';

/**
 * sd_notify(3): state changes as newline-separated VAR=value datagrams to the unix
 * socket named by NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * Node has no unix datagram sockets (libuv has none), so one small helper process
 * sends them: python3's socket module, fed one JSON string per line on stdin. It
 * lives as long as the primary, so the service manager can always attribute its
 * datagrams to the service's control group (a sender that has already exited
 * cannot be, and its message is dropped). That makes the sender a child of the
 * primary, not the main process: the unit needs NotifyAccess=all, and every
 * message carries MAINPID= so systemd tracks the primary (and, after an upgrade,
 * the new one).
 */
const HELPER = [
  'import json, os, socket, sys',
  'a = os.environ["NOTIFY_SOCKET"]',
  'a = "\\0" + a[1:] if a.startswith("@") else a',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  'for line in sys.stdin:',
  '    try:',
  '        s.sendto(json.loads(line).encode(), a)',
  '    except OSError as e:',
  '        print(json.dumps({"level": "warn", "event": "sd-notify-failed", "error": str(e)}), file=sys.stderr, flush=True)',
].join('\n');

export interface Notifier {
  /** Sends `fields` (READY=1, RELOADING=1, STATUS=..., MAINPID=...) when NOTIFY_SOCKET is set; does nothing otherwise. */
  notify(fields: Record<string, string | number>): void;
  close(): void;
}

/** The text of one notification: VAR=value lines (sd_notify(3)); values with a newline are refused, as sd_notify would misparse them. */
export function notificationText(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => {
      const value = String(v);
      if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || /[\n\0]/.test(value)) throw new Error(`bad sd_notify field ${JSON.stringify(k)}`);
      return `${k}=${value}`;
    })
    .join('\n');
}

/** CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC (libuv's hrtime is CLOCK_MONOTONIC on Linux). */
export function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}

export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env, python = 'python3'): Notifier {
  const socketPath = env.NOTIFY_SOCKET;
  // Not for workers or a new primary: each primary starts its own helper (an upgraded one gets it back from us, below).
  if (!socketPath) return { notify() {}, close() {} };
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    log.log('warn', 'sd-notify-unsupported', { notifySocket: socketPath, why: 'NOTIFY_SOCKET must be a path or @abstract name; readiness is not reported' });
    return { notify() {}, close() {} };
  }
  let helper: ChildProcess | undefined;
  let failed = false;
  const start = (): ChildProcess | undefined => {
    if (helper || failed) return helper;
    const child = spawn(python, ['-c', HELPER], { stdio: ['pipe', 'ignore', 'inherit'], env: { NOTIFY_SOCKET: socketPath, PATH: env.PATH ?? '/usr/bin:/bin' } });
    child.on('error', (err) => {
      failed = true;
      helper = undefined;
      log.log('error', 'sd-notify-unavailable', { error: err.message, what: `install python3 to report readiness to systemd (Type=notify), or use Type=simple` });
    });
    child.on('exit', () => {
      if (helper === child) helper = undefined;
    });
    child.stdin!.on('error', () => {});
    // The helper must not keep the primary alive, nor outlive it: it ends at EOF on stdin.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    helper = child;
    return child;
  };
  return {
    notify(fields) {
      const text = notificationText(fields);
      log.log('debug', 'sd-notify', { state: text });
      start()?.stdin!.write(`${JSON.stringify(text)}\n`);
    },
    close() {
      helper?.stdin!.end();
    },
  };
}
