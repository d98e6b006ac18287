import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFile, parseManifest, serializeManifest } from '@webroot/format/manifest';
import { getWithHost } from './helpers/channel-server.js';
import { freePort, leftovers, makeNodeLink, netnsUnavailable, removeLinks, setLink, spawnKept, type NodeLink, type Spawned } from './helpers/netns.js';
import { HTTPD_BIN, MKROOT_BIN } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { until } from './helpers/until.js';
import { noise, tmpDir, writeTree } from './helpers/tmp.js';

/**
 * Three httpd nodes, each in its own network namespace on a veth pair, behind
 * haproxy, following one release channel that nginx serves from a directory
 * (issue 16); the first release is published to it by HTTP PUT (nginx's
 * WebDAV module), the others into the directory. Every address is on links this test makes; no namespace has a
 * default route. Needs root, ip, haproxy and nginx: else skipped with the reason.
 */
const unavailable = netnsUnavailable(['haproxy', 'nginx']);
if (unavailable) console.log(`multi-node.test.ts skipped: ${unavailable}`);

const HOST = 'example.com';
const INTERVAL_MS = 1500;
const NODE_PORT = 8080;
const STATUS_PORT = 9100;
const TAG = `wr${process.pid % 10000}`;
const SUBNET_BASE = (process.pid % 60) * 4;

const mkroot = (args: string[]) => runNode(MKROOT_BIN, args, { timeoutMs: 30_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


interface NodeStatus {
  hosts: Record<string, { digest: string | null; follow: { refusals: Record<string, number>; previews: string[] } }>;
}

/**
 * The channel is served as it is on disk: a file written in place can be read half-written by a node polling
 * at that moment (seen under load as an extra bad-manifest refusal). Publishers rename into place
 * (mkroot publish does), so the test's hand-made tamperings do too.
 */
function writeAtomically(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function copyAtomically(from: string, to: string): void {
  writeAtomically(to, fs.readFileSync(from));
}

describe.skipIf(unavailable !== null)('deploys across three nodes in network namespaces behind haproxy', () => {
  let dir: string;
  let channel: string;
  let key: string;
  const links: NodeLink[] = [];
  const nodes: Spawned[] = [];
  let nginx: Spawned | undefined;
  let haproxy: Spawned | undefined;
  let lbPort = 0;
  let channelPort = 0;
  const releases: Record<string, { file: string; digest: string; index: Buffer }> = {};

  const cleanUp = async () => {
    await Promise.all([...nodes.map((n) => n.stop()), nginx?.stop(), haproxy?.stop()]);
    removeLinks(TAG);
  };
  const onExit = () => removeLinks(TAG);

  const release = async (name: string, extra: Record<string, string | Buffer> = {}) => {
    const index = Buffer.from(`<!doctype html><title>${name}</title><p>release ${name}</p>\n${'x'.repeat(2000)}\n`);
    const src = writeTree(path.join(dir, `src-${name}`), { 'index.html': index, ...extra });
    const file = path.join(dir, `${name}.webroot`);
    const r = await mkroot(['build', '-q', '--no-compress', src, file]);
    expect(r.code, r.stderr).toBe(0);
    releases[name] = { file, digest: await digestFile(file), index };
    return releases[name]!;
  };
  const publish = async (name: string, target = channel, keyFile = key) => {
    const r = await mkroot(['publish', releases[name]!.file, '--host', HOST, '--channel', target, '--key', keyFile]);
    expect(r.code, r.stderr).toBe(0);
  };
  const nodeStatus = async (link: NodeLink): Promise<NodeStatus | null> => {
    try {
      const r = await fetch(`http://${link.nodeAddr}:${STATUS_PORT}/status`, { signal: AbortSignal.timeout(2000) });
      return (await r.json()) as NodeStatus;
    } catch {
      return null;
    }
  };
  const servedBy = async (link: NodeLink, host = HOST) => {
    const r = await getWithHost(NODE_PORT, host, '/index.html', link.nodeAddr, 2000).catch(() => null);
    return r?.status === 200 ? r.body : null;
  };
  /** Every node reports `digest` for the host, and answers with that release's bytes. */
  const allServe = async (name: string, which = links) => {
    const want = releases[name]!;
    for (const l of which) {
      const s = await nodeStatus(l);
      if (s?.hosts[HOST]?.digest !== want.digest) return undefined;
      if (!(await servedBy(l))?.equals(want.index)) return undefined;
    }
    return true;
  };
  const refusals = async (reason: string) => Promise.all(links.map(async (l) => (await nodeStatus(l))?.hosts[HOST]?.follow.refusals[reason] ?? -1));
  const accessLog = () => fs.readFileSync(path.join(dir, 'nginx-access.log'), 'utf8');

  beforeAll(async () => {
    process.on('exit', onExit);
    removeLinks(TAG);
    dir = tmpDir('multi-node-');
    channel = path.join(dir, 'channel');
    fs.mkdirSync(channel);
    key = path.join(dir, 'release.key');
    expect((await mkroot(['keygen', key])).code).toBe(0);
    await release('v1');

    for (let i = 1; i <= 3; i++) links.push(makeNodeLink(TAG, i, `10.231.${SUBNET_BASE + i}`));
    channelPort = await freePort();
    lbPort = await freePort();
    const putPort = await freePort();

    // The channel: nginx serving the directory on the host side of each link, slow enough for a download to be cut.
    const listens = links.map((l) => `listen ${l.hostAddr}:${channelPort};`).join(' ');
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `daemon off; master_process off; user root; error_log ${dir}/nginx-error.log; pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  log_format ranges '$remote_addr $status "$request" range="$http_range" if_range="$http_if_range" bytes=$body_bytes_sent';
  access_log ${dir}/nginx-access.log ranges;
  client_body_temp_path ${dir}/nginx-body; proxy_temp_path ${dir}/nginx-proxy; fastcgi_temp_path ${dir}/nginx-fcgi; uwsgi_temp_path ${dir}/nginx-uwsgi; scgi_temp_path ${dir}/nginx-scgi;
  server { ${listens} root ${channel}; location ~ \\.webroot$ { limit_rate 1m; } }
  # The same directory on loopback, writable with PUT (WebDAV module): where the first release is published over HTTP.
  server { listen 127.0.0.1:${putPort}; root ${channel}; dav_methods PUT; client_max_body_size 64m; }
}
`,
    );
    nginx = spawnKept('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir, '-e', path.join(dir, 'nginx-error.log')]);
    // The first release goes to the channel by HTTP PUT, through nginx.
    const putUrl = `http://127.0.0.1:${putPort}/`;
    await until('nginx listens', async () => ((await fetch(putUrl).catch(() => null)) ? true : undefined));
    await publish('v1', putUrl);
    expect(fs.readFileSync(path.join(channel, `${releases.v1!.digest}.webroot`)).equals(fs.readFileSync(releases.v1!.file))).toBe(true);

    for (const [i, l] of links.entries()) {
      const vhosts = path.join(dir, `vhosts${i + 1}`);
      fs.mkdirSync(vhosts);
      nodes.push(
        spawnKept('ip', [
          'netns', 'exec', l.ns, process.execPath, HTTPD_BIN, vhosts,
          '--host', l.nodeAddr, '--port', String(NODE_PORT), '--workers', '1',
          '--follow', `host=${HOST},manifest=http://${l.hostAddr}:${channelPort}/${HOST}.json,key=${key}.pub,interval=${INTERVAL_MS}ms,timeout=1500ms`,
          '--releases', path.join(dir, `releases${i + 1}`), '--keep', '3',
          '--status', `${l.nodeAddr}:${STATUS_PORT}`,
        ]),
      );
    }
    const servers = links.map((l, i) => `  server n${i + 1} ${l.nodeAddr}:${NODE_PORT} check inter 300ms fall 2 rise 1`).join('\n');
    fs.writeFileSync(
      path.join(dir, 'haproxy.cfg'),
      `global
  maxconn 200
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  retries 2
  option redispatch
frontend lb
  bind 127.0.0.1:${lbPort}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk
  http-check send meth GET uri /index.html ver HTTP/1.1 hdr Host ${HOST}
${servers}
`,
    );
    haproxy = spawnKept('haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db']);
    await until('all three nodes serve v1', () => allServe('v1'), 20_000);
    await until('haproxy answers', async () => ((await getWithHost(lbPort, HOST, '/index.html').catch(() => null))?.status === 200 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    await cleanUp();
    process.off('exit', onExit);
  });

  it('a publish reaches all three within 2 polling intervals, with 0 failed requests through haproxy and every body old or new', async () => {
    const v1 = releases.v1!;
    const v2 = await release('v2');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let stop = false;
    const seen = { v1: 0, v2: 0, failed: 0, other: 0 };
    const failures: string[] = [];
    const client = async () => {
      for (let n = 0; !stop && n < 20_000; n++) {
        try {
          const r = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
            const req = http.get({ host: '127.0.0.1', port: lbPort, path: '/index.html', headers: { host: HOST }, agent, timeout: 5000 }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
              res.on('error', reject);
            });
            req.on('timeout', () => req.destroy(new Error('timeout')));
            req.on('error', reject);
          });
          if (r.status !== 200) {
            seen.failed++;
            failures.push(`status ${r.status}`);
          } else if (r.body.equals(v1.index)) seen.v1++;
          else if (r.body.equals(v2.index)) seen.v2++;
          else seen.other++;
        } catch (err) {
          seen.failed++;
          failures.push((err as Error).message);
        }
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    await sleep(500);
    await publish('v2');
    const published = performance.now();
    await until('all three serve v2', () => allServe('v2'), 20_000);
    const took = Math.round(performance.now() - published);
    await sleep(500);
    stop = true;
    await load;
    agent.destroy();
    console.log(`multi-node: v2 on all three nodes ${took} ms after mkroot publish returned (interval ${INTERVAL_MS} ms); requests: ${JSON.stringify(seen)}`);
    expect(took).toBeLessThanOrEqual(2 * INTERVAL_MS);
    expect(failures.slice(0, 5)).toEqual([]);
    expect(seen.other).toBe(0);
    expect(seen.v1).toBeGreaterThan(0);
    expect(seen.v2).toBeGreaterThan(0);
  });

  it('mkroot status --nodes: all three agree on v2', async () => {
    const r = await mkroot(['status', '--nodes', links.map((l) => `http://${l.nodeAddr}:${STATUS_PORT}`).join(',')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe(`${HOST}: 3 of 3 nodes serve ${releases.v2!.digest.slice(0, 12)}\n`);
  });

  it('a node whose link is cut keeps serving the old release, and converges when the link returns', async () => {
    await release('v3');
    const cut = links[2]!;
    setLink(cut, false);
    try {
      await publish('v3');
      await until('nodes 1 and 2 serve v3', () => allServe('v3', links.slice(0, 2)));
      await sleep(2 * INTERVAL_MS);
      // From inside its namespace, the cut node still answers, with v2.
      const body = execFileSync('ip', ['netns', 'exec', cut.ns, 'curl', '-s', '--max-time', '3', '-H', `Host: ${HOST}`, `http://${cut.nodeAddr}:${NODE_PORT}/index.html`]);
      expect(body.equals(releases.v2!.index)).toBe(true);
      const st = await mkroot(['status', '--nodes', links.map((l) => `http://${l.nodeAddr}:${STATUS_PORT}`).join(',')]);
      expect(st.code).toBe(1);
      expect(st.stdout).toContain(`http://${cut.nodeAddr}:${STATUS_PORT}: UNREACHABLE`);
    } finally {
      setLink(cut, true);
    }
    await until('the cut node converges on v3', () => allServe('v3'), 20_000);
  });

  it('a download cut in the middle resumes with a ranged request (nginx log: 206, Range, If-Range)', async () => {
    const v4 = await release('v4', { 'big.bin': noise(3 * 1024 * 1024, 4) });
    const victim = links[0]!;
    const partial = path.join(dir, 'releases1', HOST, `.partial-${v4.digest}.webroot`);
    await publish('v4');
    await until('node 1 is part-way through the download', () => (fs.existsSync(partial) && fs.statSync(partial).size > 256 * 1024 ? true : undefined));
    setLink(victim, false);
    try {
      await until('node 1 gives the download up', () => (nodes[0]!.logs.some((l) => l.event === 'follow-unreachable' && String(l.error).includes(v4.digest.slice(0, 12))) ? true : undefined), 10_000);
    } finally {
      setLink(victim, true);
    }
    await until('all three serve v4', () => allServe('v4'), 30_000);
    const lines = accessLog().split('\n').filter((l) => l.startsWith(`${victim.nodeAddr} `) && l.includes(`GET /${v4.digest}.webroot`));
    const resumed = lines.find((l) => / 206 /.test(l));
    expect(resumed, lines.join('\n')).toBeDefined();
    expect(resumed).toMatch(/range="bytes=[1-9]\d*-" if_range="\S+"/);
  });

  it('a tampered file, a tampered manifest and a wrong key are each refused on every node, with nothing changed', async () => {
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    // A tampered file: an honest manifest, but the bytes under the release's name are not the release.
    const v5 = await release('v5');
    await publish('v5', scratch);
    const bytes = fs.readFileSync(v5.file);
    bytes[bytes.length - 10] ^= 0xff;
    writeAtomically(path.join(channel, `${v5.digest}.webroot`), bytes);
    copyAtomically(path.join(scratch, `${HOST}.json`), path.join(channel, `${HOST}.json`));
    await until('digest-mismatch on every node', async () => ((await refusals('digest-mismatch')).every((n) => n === 1) ? true : undefined));
    expect(await allServe('v4')).toBe(true);

    // A tampered manifest: a real release, but the signed manifest edited to point at it.
    const v6 = await release('v6');
    copyAtomically(v6.file, path.join(channel, `${v6.digest}.webroot`));
    const m = parseManifest(fs.readFileSync(path.join(scratch, `${HOST}.json`), 'utf8'), 'scratch');
    writeAtomically(path.join(channel, `${HOST}.json`), serializeManifest({ ...m, digest: v6.digest, url: `${v6.digest}.webroot`, size: fs.statSync(v6.file).size, created: new Date().toISOString() }));
    await until('bad-signature on every node', async () => ((await refusals('bad-signature')).every((n) => n === 1) ? true : undefined));
    expect(await allServe('v4')).toBe(true);

    // A wrong key: a well-formed release and manifest, signed by someone else.
    const other = path.join(dir, 'other.key');
    expect((await mkroot(['keygen', other])).code).toBe(0);
    const v7 = await release('v7');
    const scratch2 = path.join(dir, 'scratch2');
    fs.mkdirSync(scratch2);
    await publish('v7', scratch2, other);
    copyAtomically(v7.file, path.join(channel, `${v7.digest}.webroot`));
    copyAtomically(path.join(scratch2, `${HOST}.json`), path.join(channel, `${HOST}.json`));
    await until('a second bad-signature on every node', async () => ((await refusals('bad-signature')).every((n) => n === 2) ? true : undefined));
    expect(await allServe('v4')).toBe(true);
    for (const n of nodes) expect(n.logs.filter((l) => l.event === 'follow-refused').map((l) => l.reason)).toEqual(['digest-mismatch', 'bad-signature', 'bad-signature']);
  });

  it('kept releases answer at their preview hosts through haproxy; each node keeps 3', async () => {
    for (const name of ['v3', 'v4']) {
      const r = await getWithHost(lbPort, `${releases[name]!.digest.slice(0, 12)}.preview.${HOST}`, '/index.html');
      expect(r.status).toBe(200);
      expect(r.body.equals(releases[name]!.index)).toBe(true);
    }
    for (let i = 1; i <= 3; i++) {
      await until(`node ${i} keeps 3`, () => (fs.readdirSync(path.join(dir, `releases${i}`, HOST)).filter((n) => n.endsWith('.webroot')).length === 3 ? true : undefined));
    }
  });

  it('clean-up removes every namespace, veth and process', async () => {
    await cleanUp();
    expect(leftovers(TAG)).toEqual([]);
    for (const p of [...nodes, nginx!, haproxy!]) expect(p.proc.exitCode !== null || p.proc.signalCode !== null).toBe(true);
  });
});
