// Helpers for the benchmark: corpus, processes, load generators, statistics.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Writes `size` pseudo-random bytes (fast: repeats a random 1 MiB block with a varying prefix). */
function writeRandom(file, size, seed) {
  const block = crypto.randomBytes(Math.min(size, 1 << 20));
  const fd = fs.openSync(file, 'w');
  for (let off = 0; off < size; off += block.length) {
    block.writeUInt32LE((seed + off) >>> 0, 0);
    fs.writeSync(fd, block, 0, Math.min(block.length, size - off));
  }
  fs.closeSync(fd);
}

/** The HTTP corpus: 1k ... 20m files and 10,000 small files under many/. Made once, reused. */
export function ensureCorpus(dir) {
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'many'), { recursive: true });
  const sizes = { '1k': 1024, '10k': 10240, '100k': 102400, '1m': 1 << 20, '20m': 20 << 20 };
  for (const [name, size] of Object.entries(sizes)) writeRandom(path.join(dir, `${name}.bin`), size, size);
  for (let i = 0; i < 10000; i++) writeRandom(path.join(dir, 'many', `${String(i).padStart(5, '0')}.bin`), 1024 + ((i * 37) % 3072), i);
  fs.writeFileSync(path.join(dir, 'many.paths'), Array.from({ length: 10000 }, (_, i) => `/many/${String(i).padStart(5, '0')}.bin`).join('\n') + '\n');
  fs.writeFileSync(marker, '');
}

/** The mkroot corpus: 10,000 files, ~200 MB, half compressible text, half random. */
export function ensurePackCorpus(dir) {
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return;
  fs.rmSync(dir, { recursive: true, force: true });
  const words = 'static server webroot index request response header range cache etag deploy symlink atomic bytes'.split(' ');
  for (let i = 0; i < 10000; i++) {
    const sub = path.join(dir, `d${Math.floor(i / 500)}`);
    fs.mkdirSync(sub, { recursive: true });
    const size = 4096 + ((i * 7919) % 32768); // 4..36 KiB, ~20 KiB average
    if (i % 2 === 0) {
      let text = '';
      let k = i;
      while (text.length < size) text += `${words[(k = (k * 1103515245 + 12345) & 0x7fffffff) % words.length]} `;
      fs.writeFileSync(path.join(sub, `f${i}.html`), text.slice(0, size));
    } else {
      writeRandom(path.join(sub, `f${i}.bin`), size, i);
    }
  }
  fs.writeFileSync(marker, '');
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server command and waits until its port accepts connections. */
export async function startServer(name, cmd, args, port, options = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited early: ${output}`);
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, port, output: () => output, stop: () => new Promise((r) => { child.on('exit', r); child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 5000); }) };
}

/**
 * CPU seconds (user + system) used so far by a process and all its descendants, from /proc (Linux only; NaN
 * elsewhere). Read before and after a measurement, it gives the server's CPU per request: where the load
 * generator saturates first (nginx often does this), CPU per request is what tells two servers apart.
 */
export function treeCpuSeconds(rootPid) {
  const tick = 100; // USER_HZ: 100 on every Linux ABI Node runs on
  const stats = new Map();
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return NaN;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      // after the command: state(3) ppid(4) ... utime(14) stime(15): indexes 1, 11, 12 of the rest
      stats.set(Number(e), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / tick });
    } catch {
      // the process ended between readdir and read
    }
  }
  let total = 0;
  const todo = [rootPid];
  const seen = new Set();
  while (todo.length > 0) {
    const pid = todo.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, st] of stats) if (st.ppid === pid) todo.push(child);
  }
  return stats.has(rootPid) ? total : NaN;
}

/** One HTTP response head from a server (for ETags). */
export function head(port, target) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`HEAD ${target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`));
    let d = '';
    s.on('data', (c) => (d += c));
    s.on('end', () => {
      const headers = {};
      for (const line of d.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(d.split(' ')[1]), headers });
    });
    s.on('error', reject);
  });
}

const UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** Runs wrk; returns { rps, bytesPerSec, errors }. */
export function runWrk({ port, target, seconds, threads, connections, headers = [], script, scriptArgs = [], cpu, scheme = 'http' }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s'];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(`${scheme}://127.0.0.1:${port}${target}`);
  if (script) args.push('--', ...scriptArgs);
  const wrk = cpu !== undefined ? ['taskset', '-c', String(cpu), 'wrk', ...args] : ['wrk', ...args];
  // Through bash, whose `times` reports the CPU its children used: what the load generator itself costs.
  const r = spawnSync('bash', ['-c', '"$@"; times >&2', 'bash', ...wrk], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const times = [...(r.stderr ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  // `times` prints the shell's user and system time, then its children's.
  const loadCpuPerRequest = times.length >= 4 ? (times[2] + times[3]) / requests : NaN;
  const t = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0);
  return { rps, requests, bytesPerSec: t ? Number(t[1]) * UNITS[t[2]] : NaN, errors, loadCpuPerRequest, raw: out + (r.stderr ?? '') };
}

/** Runs ab for about `seconds`; returns { rps, errors }. */
export function runAb({ port, target, seconds, keepAlive, concurrency = 25, cpu }) {
  const args = ['-q', '-r', '-c', String(concurrency), '-t', String(seconds), '-n', '5000000'];
  if (keepAlive) args.push('-k');
  args.push(`http://127.0.0.1:${port}${target}`);
  const cmd = cpu !== undefined ? 'taskset' : 'ab';
  const full = cpu !== undefined ? ['-c', String(cpu), 'ab', ...args] : args;
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = r.stdout ?? '';
  const rps = Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/Complete requests:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  return { rps, requests, bytesPerSec: NaN, errors: failed + non2xx, raw: out + (r.stderr ?? '') };
}

/** autocannon fallback when wrk is missing (runs in this process: less precise). */
export async function runAutocannon({ port, target, seconds, connections, headers = [], paths }) {
  const { default: autocannon } = await import('autocannon');
  const hdrs = Object.fromEntries(headers.map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]));
  const opts = { url: `http://127.0.0.1:${port}`, connections, duration: seconds, headers: hdrs };
  if (paths) {
    let i = 0;
    opts.requests = [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }];
  } else opts.requests = [{ path: target }];
  const r = await autocannon(opts);
  return { rps: r.requests.average, bytesPerSec: r.throughput.average, errors: r.errors + r.non2xx - (r['3xx'] ?? 0) };
}
