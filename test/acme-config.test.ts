import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCert, opensslMissing } from './helpers/certs.js';
import { startHttpdWith, type RunningHttpd } from './helpers/httpd.js';
import { HTTPD_BIN } from './helpers/paths.js';
import { freePort, pebbleMissing, startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from './helpers/pebble.js';
import { runNode } from './helpers/run.js';
import { singleSiteVhosts } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';
import { until } from './helpers/until.js';

// Issue 13 from the configuration file: an [acme] section with a key for every --acme-* flag,
// and ACME's orders and certificates in /metrics (the primary's registry, README "Monitoring").
const skip = opensslMissing;
if (skip) console.log(`acme-config.test.ts: skipped: ${skip}`);
const skipPebble = skip ?? pebbleMissing;
if (skipPebble && !skip) console.log(`acme-config.test.ts: the pebble case is skipped: ${skipPebble}`);

const httpd = (args: string[]) => runNode(HTTPD_BIN, args, { timeoutMs: 15_000 });

let webroot: string;
beforeAll(async () => {
  if (skip) return;
  ({ webroot } = await singleSiteVhosts({ 'index.html': '<p>acme</p>\n' }));
});

/** VHOSTS_DIR with __default__ and `hosts`, CERTS_DIR with a self-signed __default__, and a state directory path. */
function layout(hosts: string[]): { vhosts: string; certs: string; state: string; dir: string } {
  const dir = tmpDir('acme-config-');
  const vhosts = path.join(dir, 'vhosts');
  fs.mkdirSync(vhosts);
  for (const h of ['__default__', ...hosts]) fs.symlinkSync(webroot, path.join(vhosts, h));
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(certs);
  makeCert(certs, '__default__', { cn: 'default.invalid' });
  return { vhosts, certs, state: path.join(dir, 'state'), dir };
}

/** A configuration file in `dir` (relative paths in it are relative to it). */
function configFile(dir: string, o: { plain: string; directory: string; extra?: string }): string {
  const file = path.join(dir, 'httpd.toml');
  fs.writeFileSync(
    file,
    `vhosts = "vhosts"\nworkers = 1\nadmin = "127.0.0.1:0"\n\n[[listen]]\naddress = "${o.plain}"\n\n[[listen]]\naddress = "127.0.0.1:0"\ntls = true\n\n[tls]\ncerts = "certs"\n\n` +
      `[acme]\ndirectory = "${o.directory}"\nemail = "ops@example.test"\nagree_tos = true\nstate = "state"\nretry = "1s"\n${o.extra ?? ''}`,
  );
  return file;
}

async function metrics(h: RunningHttpd): Promise<string> {
  const admin = (await h.waitForLog((l) => l.event === 'admin-listening')).port as number;
  const res = await fetch(`http://127.0.0.1:${admin}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe.skipIf(skip !== undefined)('[acme] in the configuration file, and ACME failures in /metrics', () => {
  it('an unreachable CA from [acme] alone: acme-failed names it, and webroot_acme_orders_total{result="failed"} moves (seen through the admin listener)', async () => {
    const d = layout(['a.test']);
    // Port 1 (tcpmux): nothing listens there, and no other test can take it meanwhile (as it could a port freePort found).
    const closed = 1;
    const h = await startHttpdWith(['--config', configFile(d.dir, { plain: '127.0.0.1:0', directory: `http://127.0.0.1:${closed}/dir` })]);
    try {
      const failed = await h.waitForLog((l) => l.event === 'acme-failed' && l.host === 'a.test', 10_000);
      expect(failed.cause).toBe(`cannot reach the CA at http://127.0.0.1:${closed}/dir (ECONNREFUSED); check --acme-directory ([acme] directory) and the network`);
      const text = await until('a failed order in /metrics', async () => {
        const t = await metrics(h);
        return (sample(t, 'webroot_acme_orders_total{result="failed"}') ?? 0) >= 1 ? t : undefined;
      });
      expect(sample(text, 'webroot_acme_orders_total{result="issued"}')).toBe(0);
      expect(text).toContain('# TYPE webroot_acme_orders_total counter');
      // No certificate held: no expiry series (the host is served the default certificate meanwhile).
      expect(text).not.toMatch(/^webroot_acme_certificate_expiry_timestamp_seconds\{/m);
      // The state directory is made, relative to the file, 0700.
      expect(fs.statSync(d.state).mode & 0o777).toBe(0o700);
    } finally {
      await h.stop();
    }
  });

  it('the --acme-* flags replace the [acme] section (config-overridden says so)', async () => {
    const d = layout(['a.test']);
    const [fileCa, flagCa] = [1, 2];
    const flagState = path.join(d.dir, 'flag-state');
    const h = await startHttpdWith([
      '--config',
      configFile(d.dir, { plain: '127.0.0.1:0', directory: `http://127.0.0.1:${fileCa}/dir` }),
      ...['--acme-directory', `http://127.0.0.1:${flagCa}/dir`, '--acme-email', 'flags@example.test', '--acme-agree-tos', '--acme-state', flagState],
    ]);
    try {
      expect((await h.waitForLog((l) => l.event === 'config-overridden')).keys).toEqual(['acme']);
      const failed = await h.waitForLog((l) => l.event === 'acme-failed', 10_000);
      expect(failed.cause).toContain(`http://127.0.0.1:${flagCa}/dir`);
      expect(fs.existsSync(flagState)).toBe(true);
      expect(fs.existsSync(d.state)).toBe(false);
    } finally {
      await h.stop();
    }
  });

  it('check-config prints the [acme] section with its defaults filled in', async () => {
    const d = layout([]);
    const r = await httpd(['check-config', configFile(d.dir, { plain: "127.0.0.1:0", directory: "https://ca.example/dir" }), '--json']);
    expect(r.code).toBe(0);
    const c = (JSON.parse(r.stdout) as { config: Record<string, unknown> }).config;
    expect(c.acme).toEqual({ directory: 'https://ca.example/dir', email: 'ops@example.test', agree_tos: true, state: d.state, retry: 1 });
    // check-config creates nothing.
    expect(fs.existsSync(d.state)).toBe(false);
  });

  // Each: the exact line (FILE:LINE:COLUMN: key: what is wrong, what to write), exit 1.
  const bad: [string, (d: ReturnType<typeof layout>) => string, RegExp][] = [
    ['email missing', () => `[acme]\ndirectory = "https://ca.example/dir"\nagree_tos = true\nstate = "state"\n`, /httpd\.toml:\d+:1: acme: ACME needs acme\.email as well/],
    ['terms not agreed', () => `[acme]\ndirectory = "https://ca.example/dir"\nemail = "a@b.example"\nagree_tos = false\nstate = "state"\n`, /httpd\.toml:\d+:1: acme: ACME needs acme\.agree_tos as well/],
    ['a directory that is not a URL', () => `[acme]\ndirectory = "ca.example"\nemail = "a@b.example"\nagree_tos = true\nstate = "state"\n`, /acme: acme\.directory 'ca\.example' is not a URL; give the CA's directory URL/],
    ['an email that is not an address', () => `[acme]\ndirectory = "https://ca.example/dir"\nemail = "ops"\nagree_tos = true\nstate = "state"\n`, /acme: acme\.email 'ops' is not an email address/],
    ['a misspelt key', () => `[acme]\nagree_to = true\n`, /httpd\.toml:\d+:1: acme\.agree_to: unknown key in acme; did you mean 'agree_tos'\?/],
    ['retry of zero', () => `[acme]\nretry = 0\n`, /httpd\.toml:\d+:1: acme\.retry: expected a duration greater than 0/],
    ['no TLS listener', () => `[acme]\ndirectory = "https://ca.example/dir"\nemail = "a@b.example"\nagree_tos = true\nstate = "state"\n`, /acme: ACME needs a TLS listener to serve its certificates on/],
    ['no supervisor', () => `workers = 0\n[[listen]]\naddress = "127.0.0.1:0"\n[[listen]]\naddress = "127.0.0.1:0"\ntls = true\n[tls]\ncerts = "certs"\n[acme]\ndirectory = "https://ca.example/dir"\nemail = "a@b.example"\nagree_tos = true\nstate = "state"\n`, /acme: ACME needs workers = 1 or more/],
    ['a state directory under a file', (d) => {
      fs.writeFileSync(path.join(d.dir, 'a-file'), '');
      return `[[listen]]\naddress = "127.0.0.1:0"\n[[listen]]\naddress = "127.0.0.1:0"\ntls = true\n[tls]\ncerts = "certs"\n[acme]\ndirectory = "https://ca.example/dir"\nemail = "a@b.example"\nagree_tos = true\nstate = "a-file/state"\n`;
    }, /acme: .*a-file\/state: .*a-file is not a directory; give a directory for the ACME account key and certificates/],
  ];
  it.each(bad)('%s', async (_name, text, message) => {
    const d = layout([]);
    const file = path.join(d.dir, 'httpd.toml');
    fs.writeFileSync(file, `vhosts = "vhosts"\n${text(d)}`);
    const r = await httpd(['check-config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe.skipIf(skipPebble !== undefined)('[acme] against real pebble, from a configuration file alone', () => {
  let dns: ChallTestSrv;
  let pebble: Pebble;
  let h: RunningHttpd;
  beforeAll(async () => {
    dns = await startChallTestSrv();
    const port = await freePort();
    pebble = await startPebble({ httpPort: port, dnsServer: dns.dnsAddress, validitySeconds: 3600 });
    const d = layout(['a.test']);
    h = await startHttpdWith(['--config', configFile(d.dir, { plain: `127.0.0.1:${port}`, directory: pebble.directoryUrl })], { NODE_EXTRA_CA_CERTS: pebble.wfeCaFile });
  }, 30_000);
  afterAll(async () => {
    await h?.stop();
    await pebble?.stop();
    await dns?.stop();
  });

  it('the host gets a certificate that verifies against pebble\'s root; /metrics counts the issued order and gives its expiry (RFC 8555 section 7.4)', async () => {
    const root = await pebble.root();
    const peer = await until(
      'a verified certificate for a.test',
      () =>
        new Promise<tls.PeerCertificate | undefined>((resolve) => {
          const s = tls.connect({ port: h.tlsPort!, host: '127.0.0.1', servername: 'a.test', ca: root });
          s.once('secureConnect', () => (resolve(s.getPeerCertificate()), s.destroy()));
          s.once('error', () => resolve(undefined));
        }),
      20_000,
    );
    expect(peer.subjectaltname).toBe('DNS:a.test');
    await h.waitForLog((l) => l.event === 'acme-issued' && l.host === 'a.test');
    const text = await metrics(h);
    expect(sample(text, 'webroot_acme_orders_total{result="issued"}')).toBe(1);
    expect(sample(text, 'webroot_acme_orders_total{result="failed"}')).toBe(0);
    expect(sample(text, 'webroot_acme_certificate_expiry_timestamp_seconds{host="a.test"}')).toBe(Math.floor(Date.parse(peer.valid_to) / 1000));
  }, 30_000);
});
