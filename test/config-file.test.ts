import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpd } from './helpers/httpd.js';
import { HTTPD_BIN, ROOT } from './helpers/paths.js';
import { runNode } from './helpers/run.js';
import { makeFixture, type Fixture } from './helpers/site.js';
import { tmpDir } from './helpers/tmp.js';

const httpd = (args: string[]) => runNode(HTTPD_BIN, args, { timeoutMs: 15_000 });

let fx: Fixture;
let dir: string;
beforeAll(async () => {
  fx = await makeFixture();
  dir = tmpDir('config-');
});

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('httpd check-config (like nginx -t)', () => {
  it('prints the effective configuration with every default filled in, as TOML and as JSON, exit 0', async () => {
    const file = writeConfig('ok.toml', `vhosts = ${JSON.stringify(fx.vhosts)}\ncache_size = "64M"\n\n[timeouts]\nkeepalive = "2500ms"\n\n[[listen]]\naddress = "127.0.0.1:0"\n\n[[host]]\nname = "Example.com."\naliases = ["www.example.com"]\ncache_control = "public, max-age=60"\n\n[[mount]]\nhost = "example.com"\nprefix = "/docs/"\nwebroot = ${JSON.stringify(fx.webroots.default)}\n`);
    const toml = await httpd(['check-config', file]);
    expect(toml.stderr).toContain('configuration is valid');
    expect(toml.code).toBe(0);
    expect(toml.stdout).toContain('cache_size = 67108864');
    expect(toml.stdout).toContain('io = "sync"');
    expect(toml.stdout).toContain('cache_control = "no-cache"');
    expect(toml.stdout).toMatch(/\[timeouts\]\nheader = 10\nkeepalive = 2\.5\nsend = 30\ndrain = 10/);
    const json = await httpd(['check-config', file, '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; config: Record<string, unknown> };
    expect(parsed.ok).toBe(true);
    expect(parsed.config.listen).toEqual([{ address: '127.0.0.1:0', tls: false }]);
    expect(parsed.config.host).toEqual([{ name: 'example.com', aliases: ['www.example.com'], cache_control: 'public, max-age=60' }]);
    expect(parsed.config.mount).toEqual([{ host: 'example.com', prefix: '/docs/', webroot: fx.webroots.default }]);
  });

  it('the example file in examples/ is valid once its paths exist', async () => {
    const text = fs.readFileSync(path.join(ROOT, 'examples/httpd.toml'), 'utf8');
    // Point the example's absolute paths at this test's fixture; every key stays as written.
    const certs = tmpDir('example-certs-');
    const file = writeConfig(
      'example.toml',
      text
        .replaceAll('/srv/webroot/vhosts', fx.vhosts)
        .replaceAll('/srv/webroot/releases/docs-current.webroot', fx.webroots.default)
        .replaceAll('/var/log/webroot', dir)
        .replaceAll('/etc/webroot/certs', certs)
        .replaceAll('/var/lib/webroot/acme', path.join(dir, 'acme-state'))
        .replaceAll('"app/route.mjs"', JSON.stringify(path.join(ROOT, 'examples/app/route.mjs'))),
    );
    const r = await httpd(['check-config', file]);
    expect(r.stderr).toContain('configuration is valid');
    expect(r.code).toBe(0);
    // Every listener of the example, and its [tls] and [acme] keys, as check-config sees them.
    const json = JSON.parse((await httpd(['check-config', file, '--json'])).stdout) as { config: Record<string, unknown> };
    expect(json.config.listen).toEqual([
      { address: '0.0.0.0:80', tls: false },
      { address: '0.0.0.0:443', tls: true },
      { address: '127.0.0.1:8080', tls: false },
    ]);
    expect(json.config.tls).toEqual({ certs, redirect_http: true, hsts: 31536000 });
    expect((json.config.acme as { retry: number }).retry).toBe(60);
  });

  // Each bad file: the exact problem line (FILE:LINE:COLUMN: key: what is wrong, what to write), exit 1; no stack trace.
  const bad: [string, () => string, RegExp[]][] = [
    ['unknown key with a suggestion', () => `vhosts = "."\nworkerz = 2\n`, [/bad\.toml:2:1: workerz: unknown key at the top level; did you mean 'workers'\?/]],
    ['unknown key in a table with a suggestion', () => `vhosts = "."\n[timeouts]\nkeep_alive = 3\n`, [/bad\.toml:3:1: timeouts\.keep_alive: unknown key in timeouts; did you mean 'keepalive'\?/]],
    ['unknown key with no close match lists the known ones', () => `vhosts = "."\n[[mount]]\nhost = "a"\nprefix = "/a/"\nwebroot = "x"\nzzzzzz = 1\n`, [/bad\.toml:6:1: mount\[0\]\.zzzzzz: unknown key in mount\[0\]; known keys: host, prefix, webroot/]],
    ['wrong type', () => `vhosts = "."\nworkers = "two"\n`, [/bad\.toml:2:1: workers: expected a whole number from 0 to 256, got a string "two"/]],
    ['out of range', () => `vhosts = "."\nworkers = 1000\n`, [/bad\.toml:2:1: workers: expected a whole number from 0 to 256, got a number 1000/]],
    ['bad enum', () => `vhosts = "."\nio = "fast"\n`, [/bad\.toml:2:1: io: expected one of "sync", "stream", "async"/]],
    ['bad size', () => `vhosts = "."\ncache_size = "12Q"\n`, [/bad\.toml:2:1: cache_size: expected a size like/]],
    ['zero duration', () => `vhosts = "."\n[timeouts]\nheader = 0\n`, [/bad\.toml:3:1: timeouts\.header: expected a duration greater than 0/]],
    ['line break in Cache-Control', () => `vhosts = "."\ncache_control = "a\\r\\nSet-Cookie: x"\n`, [/bad\.toml:2:1: cache_control: expected a string without line breaks/]],
    ['bad address', () => `vhosts = "."\n[[listen]]\naddress = "127.0.0.1:80800"\n`, [/bad\.toml:3:1: listen\[0\]\.address: expected a listening address as "HOST:PORT"/]],
    ['listen as a string, not tables', () => `vhosts = "."\nlisten = "127.0.0.1:80"\n`, [/bad\.toml:2:1: listen: expected an array of tables \(write \[\[listen\]\] blocks\)/]],
    ['TLS listener without [tls] certs', () => `vhosts = "."\n[[listen]]\naddress = "127.0.0.1:8080"\n[[listen]]\naddress = "127.0.0.1:8443"\ntls = true\n`, [/bad\.toml:6:1: listen\[1\]\.tls: a TLS listener needs certificates: add \[tls\] certs = /]],
    ['TOML syntax error', () => `vhosts = "."\nworkers = [1,\n`, [/bad\.toml:3:1: not valid TOML: /]],
    ['missing vhosts directory', () => `vhosts = "no-such-dir"\n`, [/bad\.toml:1:1: vhosts: .*no-such-dir: no such directory/]],
    ['no vhosts at all', () => `workers = 1\n`, [/bad\.toml: no vhosts directory: add vhosts = /]],
    ['admin overlapping the listener', () => `vhosts = "."\nadmin = "*:8080"\n[[listen]]\naddress = "127.0.0.1:8080"\n`, [/bad\.toml:2:1: admin: overlaps the listener 127\.0\.0\.1:8080; give the admin listener its own port/]],
    ['access log in a missing directory', () => `vhosts = "."\n[access_log]\npath = "nope/access.log"\n`, [/bad\.toml:3:1: access_log\.path: .*nope: no such directory \(the directory of the access log must exist\)/]],
    ['duplicate host and alias', () => `vhosts = "."\n[[host]]\nname = "a.example"\n[[host]]\nname = "b.example"\naliases = ["A.example"]\n[[host]]\nname = "b.example"\n`, [/bad\.toml:6:1: host\[1\]\.aliases: 'a\.example' is already named by host\[0\]\.name/, /bad\.toml:8:1: host\[2\]\.name: 'b\.example' is already named by host\[1\]\.name/]],
    ['duplicate mount, bad prefix, missing webroot', () => `vhosts = "."\n[[mount]]\nhost = "a.example"\nprefix = "/docs/"\nwebroot = "WEBROOT"\n[[mount]]\nhost = "a.example"\nprefix = "/docs/"\nwebroot = "WEBROOT"\n[[mount]]\nhost = "a.example"\nprefix = "docs"\nwebroot = "missing.webroot"\n`, [/bad\.toml:6:1: mount\[1\]: mount a\.example\/docs\/ is already defined by mount\[0\]/, /bad\.toml:12:1: mount\[2\]\.prefix: 'docs' must start and end with '\/'/, /bad\.toml:13:1: mount\[2\]\.webroot: .*missing\.webroot: no such file/]],
    ['prefix with a dot segment', () => `vhosts = "."\n[[mount]]\nhost = "a.example"\nprefix = "/a/../b/"\nwebroot = "WEBROOT"\n`, [/bad\.toml:4:1: mount\[0\]\.prefix: '\/a\/\.\.\/b\/' has an empty, '\.' or '\.\.' segment/]],
  ];
  it.each(bad)('%s: one message per problem, naming FILE:LINE:COLUMN and the key, exit 1', async (_name, text, messages) => {
    const sub = tmpDir('bad-');
    fs.symlinkSync(fx.vhosts, path.join(sub, 'vh'));
    const file = path.join(sub, 'bad.toml');
    fs.writeFileSync(file, text().replaceAll('vhosts = "."', 'vhosts = "vh"').replaceAll('WEBROOT', fx.webroots.default));
    const r = await httpd(['check-config', file]);
    expect(r.code).toBe(1);
    for (const m of messages) expect(r.stderr).toMatch(m);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(messages.length + 1);
    expect(lines.at(-1)).toMatch(new RegExp(`bad\\.toml: ${messages.length} problems?$`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // The same file stops the server at start-up with exit 2 and the same messages.
    const start = await httpd(['--config', file]);
    expect(start.code).toBe(2);
    for (const m of messages) expect(start.stderr).toMatch(m);
    expect(start.stderr).toMatch(/problems? in .*bad\.toml; not started/);
  });

  it('a missing configuration file is one clear error', async () => {
    const r = await httpd(['check-config', path.join(dir, 'absent.toml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/absent\.toml: no such file; give the path of a TOML configuration file/);
    const s = await httpd(['--config', path.join(dir, 'absent.toml')]);
    expect(s.code).toBe(2);
  });
});

describe('httpd --config FILE', () => {
  it('serves with the file settings; flags given on the command line win, and the log says which', async () => {
    const file = writeConfig('serve.toml', `vhosts = ${JSON.stringify(fx.vhosts)}\nworkers = 1\ncache_control = "public, max-age=7"\n\n[[listen]]\naddress = "127.0.0.1:1"\n`);
    // startHttpd adds VHOSTS_DIR, --port 0 and --host 127.0.0.1: those override the file's vhosts and listener.
    const h = await startHttpd(fx.vhosts, ['--config', file]);
    try {
      const res = await fetch(h.url('/about.html'));
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=7');
      const line = await h.waitForLog((l) => l.event === 'config-overridden');
      expect(line.by).toBe('command line');
      expect(line.keys).toEqual(['port', 'host', 'vhostsDir']);
    } finally {
      await h.stop();
    }
    const h2 = await startHttpd(fx.vhosts, ['--config', file, '--cache-control', 'no-store']);
    try {
      expect((await fetch(h2.url('/about.html'))).headers.get('cache-control')).toBe('no-store');
      expect((await h2.waitForLog((l) => l.event === 'config-overridden')).keys).toContain('cacheControl');
    } finally {
      await h2.stop();
    }
  });

  it('without --config, VHOSTS_DIR is still required and says how to give one', async () => {
    const r = await httpd([]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('httpd: give VHOSTS_DIR, or a configuration file with --config FILE (see: httpd --help)');
  });
});
