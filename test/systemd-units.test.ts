import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HTTPD_BIN, ROOT } from './helpers/paths.js';
import { tmpDir } from './helpers/tmp.js';

const UNITS = path.join(ROOT, 'examples/systemd');
const INSTALLED_BIN = '/usr/local/bin/httpd';
const analyze = spawnSync('systemd-analyze', ['--version'], { timeout: 10_000 }).status === 0;
if (!analyze) console.log('skipped the systemd unit test: systemd-analyze is not installed (apt-get install systemd)');

describe('examples/systemd', () => {
  it.skipIf(!analyze)('webroot-httpd.service and .socket pass systemd-analyze verify with no warning', () => {
    // verify checks that ExecStart= is executable: point it at this checkout's httpd instead of npm's global bin; every other line is as shipped.
    const dir = tmpDir('units-');
    for (const name of ['webroot-httpd.service', 'webroot-httpd.socket']) {
      const text = fs.readFileSync(path.join(UNITS, name), 'utf8');
      fs.writeFileSync(path.join(dir, name), text.replaceAll(INSTALLED_BIN, HTTPD_BIN));
    }
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'webroot-httpd.socket'), path.join(dir, 'webroot-httpd.service')], { encoding: 'utf8', timeout: 30_000 });
    // verify exits 0 on unknown keys and bad values too: they only show up as messages.
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('the service has the hardening and the settings socket activation, readiness and upgrades rely on', () => {
    const service = fs.readFileSync(path.join(UNITS, 'webroot-httpd.service'), 'utf8');
    const settings = new Map(service.split('\n').filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.fromEntries([...settings].filter(([k]) => ['Type', 'NotifyAccess', 'NoNewPrivileges', 'ProtectSystem', 'PrivateTmp', 'CapabilityBoundingSet', 'User', 'ExecReload'].includes(k)))).toEqual({
      Type: 'notify',
      NotifyAccess: 'all',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      PrivateTmp: 'yes',
      CapabilityBoundingSet: '',
      User: 'webroot',
      ExecReload: '/bin/kill -HUP $MAINPID',
    });
    expect(settings.get('ReadOnlyPaths')).toBe('/srv/webroot/releases /srv/webroot/vhosts');
    expect(settings.get('ReadWritePaths')).toBe('/var/log/webroot /var/lib/webroot');
    expect(settings.get('ExecStart')).toMatch(new RegExp(`^${INSTALLED_BIN} /srv/webroot/vhosts --pid-file /run/webroot/httpd\\.pid`));
    const socket = fs.readFileSync(path.join(UNITS, 'webroot-httpd.socket'), 'utf8');
    expect(socket).toMatch(/^FileDescriptorName=http$/m);
  });
});
