import { spawn, type ChildProcess } from 'node:child_process';
import { HTTPD_BIN } from './paths.js';

export interface RunningHttpd {
  port: number;
  /** The HTTPS port, when started with --tls-port. */
  tlsPort: number | undefined;
  proc: ChildProcess;
  /** Every log line so far (stderr), parsed when JSON. */
  logs: Record<string, unknown>[];
  stdout: string[];
  url(path?: string): string;
  /** Waits (bounded) for a log line matching `pred`. */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then wait (bounded) for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Starts the real httpd CLI on port 0 and resolves once it says where it listens. */
export function startHttpd(vhostsDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<RunningHttpd> {
  return startHttpdWith([vhostsDir, '--port', '0', '--host', '127.0.0.1', ...args], env, timeoutMs);
}

/** Starts the real httpd CLI with exactly `args` (e.g. `--config FILE`) and resolves once it says where it listens. */
export function startHttpdWith(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<RunningHttpd> {
  const proc = spawn(process.execPath, [HTTPD_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  return attachHttpd(proc, timeoutMs);
}

/** Follows an httpd started some other way (a wrapper, inherited sockets) whose stdout and stderr are pipes. */
export function attachHttpd(proc: ChildProcess, timeoutMs = 15_000): Promise<RunningHttpd> {
  running.add(proc);
  const logs: Record<string, unknown>[] = [];
  const stdout: string[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let stderrRest = '';
  proc.stderr!.on('data', (c: Buffer) => {
    const lines = (stderrRest + c.toString()).split('\n');
    stderrRest = lines.pop()!;
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { raw: line };
      }
      logs.push(parsed);
      for (const w of [...waiters]) {
        if (w.pred(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  proc.stdout!.on('data', (c: Buffer) => stdout.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => {
    running.delete(proc);
    resolve(code);
  }));

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, ms = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)), ms);
      waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });

  return Promise.race([
    waitForLog((l) => l.event === 'listening', timeoutMs),
    exited.then((code) => {
      throw new Error(`httpd exited (${code}) before listening: ${logs.map((l) => JSON.stringify(l)).join('\n')}`);
    }),
  ]).then((line) => {
    const port = line.port as number;
    return {
      port,
      tlsPort: line.tlsPort as number | undefined,
      proc,
      logs,
      stdout,
      url: (p = '/') => `http://127.0.0.1:${port}${p}`,
      waitForLog,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
        proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  });
}
