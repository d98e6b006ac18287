import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Runs `ip ARGS...`; throws with ip's own message on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Why the network-namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(programs: string[]): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the suite as root, as CI does)';
  for (const p of ['ip', ...programs]) {
    if (spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) return `${p} is not installed (.ci/apt.d/deploy.txt lists it)`;
  }
  const probe = `wrprobe${process.pid % 100000}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (err) {
    return `cannot create a network namespace here (${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message})`;
  }
  return null;
}

export interface NodeLink {
  ns: string;
  hostIf: string;
  nodeIf: string;
  /** The address on our side of the veth pair. */
  hostAddr: string;
  /** The address inside the namespace. */
  nodeAddr: string;
}

/**
 * A namespace joined to this one by a veth pair on a /24 of our own making,
 * with loopback up and no default route (the namespace reaches only the
 * other end of its link).
 */
export function makeNodeLink(tag: string, index: number, subnet: string): NodeLink {
  const link: NodeLink = { ns: `${tag}n${index}`, hostIf: `${tag}h${index}`, nodeIf: `${tag}v${index}`, hostAddr: `${subnet}.1`, nodeAddr: `${subnet}.2` };
  ip('netns', 'add', link.ns);
  ip('link', 'add', link.hostIf, 'type', 'veth', 'peer', 'name', link.nodeIf);
  ip('link', 'set', link.nodeIf, 'netns', link.ns);
  ip('addr', 'add', `${link.hostAddr}/24`, 'dev', link.hostIf);
  ip('link', 'set', link.hostIf, 'up');
  ip('-n', link.ns, 'addr', 'add', `${link.nodeAddr}/24`, 'dev', link.nodeIf);
  ip('-n', link.ns, 'link', 'set', link.nodeIf, 'up');
  ip('-n', link.ns, 'link', 'set', 'lo', 'up');
  return link;
}

export function setLink(link: NodeLink, up: boolean): void {
  ip('link', 'set', link.hostIf, up ? 'up' : 'down');
}

/** Removes namespaces and host-side veths whose names start with `tag`; never throws. */
export function removeLinks(tag: string): void {
  const run = (...args: string[]) => spawnSync('ip', args, { stdio: 'ignore', timeout: 10_000 });
  const list = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  for (const line of list('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(tag)) run('netns', 'del', name);
  }
  for (const line of list('-o', 'link', 'show').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(tag)) run('link', 'del', name);
  }
}

export function leftovers(tag: string): string[] {
  const ns = (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(tag));
  const links = (spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(tag));
  return [...ns, ...links];
}

/** A TCP port free on 127.0.0.1 now, for programs that cannot take port 0 (nginx, haproxy). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A child process with its output kept, for a test's own programs. */
export interface Spawned {
  proc: ChildProcess;
  output: string[];
  /** Parsed JSON lines of stderr (httpd's logs). */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function spawnKept(cmd: string, args: string[]): Spawned {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const logs: Record<string, unknown>[] = [];
  let rest = '';
  const take = (c: Buffer) => {
    const lines = (rest + c.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      output.push(l);
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output,
    logs,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
