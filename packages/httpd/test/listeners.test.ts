import { describe, expect, it } from 'vitest';
import { acmeMetrics } from '../src/acme/acme-metrics.js';
import { diffConfig } from '../src/config/diff.js';
import { allListeners, overlappingListeners, planListeners, type ListenEntry } from '../src/config/listeners.js';
import { defaultConfig } from '../src/config/load.js';
import type { HttpdConfig } from '../src/config.js';

const at = (host: string, port: number, tls?: boolean): ListenEntry => ({ address: { host, port }, ...(tls !== undefined ? { tls } : {}) });

describe('planListeners: the first plain entry is --host/--port, the first tls entry --tls-port, the rest extra', () => {
  it.each<[string, ListenEntry[], { main?: number; tls?: number; extra: number[]; problems: string[] }]>([
    ['none (the defaults stay)', [], { extra: [], problems: [] }],
    ['one plain', [at('127.0.0.1', 80)], { main: 0, extra: [], problems: [] }],
    ['plain, plain, tls', [at('127.0.0.1', 80), at('127.0.0.1', 81), at('127.0.0.1', 443, true)], { main: 0, tls: 2, extra: [1], problems: [] }],
    ['tls first, then plain, tls', [at('::1', 443, true), at('::1', 80, false), at('127.0.0.1', 8443, true)], { main: 1, tls: 0, extra: [2], problems: [] }],
    ['only tls', [at('127.0.0.1', 443, true)], { tls: 0, extra: [], problems: ['every [[listen]] entry has tls = true'] }],
  ])('%s', (_name, entries, want) => {
    const { plan, problems } = planListeners(entries);
    expect(plan.main?.index).toBe(want.main);
    expect(plan.tls?.index).toBe(want.tls);
    expect(plan.extra.map((e) => e.index)).toEqual(want.extra);
    expect(problems.map((p) => p.message.slice(0, want.problems[0]?.length ?? 0))).toEqual(want.problems);
  });

  it('extra entries keep their address and kind', () => {
    const { plan } = planListeners([at('127.0.0.1', 80), at('127.0.0.1', 443, true), at('10.0.0.1', 8443, true), at('10.0.0.1', 8080)]);
    expect(plan.extra.map((e) => e.listener)).toEqual([
      { host: '10.0.0.1', port: 8443, tls: true },
      { host: '10.0.0.1', port: 8080, tls: false },
    ]);
  });
});

describe('overlappingListeners: one problem per later listener that shares an earlier one\'s socket', () => {
  const named = (host: string, port: number, index?: number) => ({ address: { host, port }, tls: false, path: index === undefined ? [] : ['listen', index] });
  it.each<[string, ReturnType<typeof named>[], { path: (string | number)[]; text: string }[]]>([
    ['distinct ports', [named('127.0.0.1', 80, 0), named('127.0.0.1', 81, 1)], []],
    ['distinct addresses, same port', [named('127.0.0.1', 80, 0), named('127.0.0.2', 80, 1)], []],
    ['port 0 twice (the OS picks two ports)', [named('127.0.0.1', 0, 0), named('127.0.0.1', 0, 1)], []],
    ['the same address twice', [named('127.0.0.1', 80, 0), named('127.0.0.1', 80, 2)], [{ path: ['listen', 2, 'address'], text: '127.0.0.1:80 overlaps the listener 127.0.0.1:80 (listen[0])' }]],
    ['a wildcard and an address on its port', [named('0.0.0.0', 80, 0), named('127.0.0.1', 80, 1)], [{ path: ['listen', 1, 'address'], text: '127.0.0.1:80 overlaps the listener 0.0.0.0:80 (listen[0])' }]],
    ['a command-line listener (no key) and an entry', [named('127.0.0.1', 80), named('127.0.0.1', 80, 1)], [{ path: ['listen', 1, 'address'], text: '127.0.0.1:80 overlaps the listener 127.0.0.1:80;' }]],
    ['three on one port: two problems', [named('::', 80, 0), named('::1', 80, 1), named('::1', 80, 2)], [{ path: ['listen', 1, 'address'], text: '[::1]:80 overlaps the listener [::]:80' }, { path: ['listen', 2, 'address'], text: '[::1]:80 overlaps the listener [::]:80' }]],
  ])('%s', (_name, listeners, want) => {
    const got = overlappingListeners(listeners);
    expect(got.map((p) => p.path)).toEqual(want.map((w) => w.path));
    got.forEach((p, i) => expect(p.message.startsWith(want[i]!.text), p.message).toBe(true));
  });
});

describe('allListeners: every socket the primary binds, in order', () => {
  it('main plain, main TLS (on tlsHost, else host), extras', () => {
    expect(allListeners({ host: '0.0.0.0', port: 80, tlsPort: 443, extraListeners: [{ host: '::1', port: 8080, tls: false }] })).toEqual([
      { host: '0.0.0.0', port: 80, tls: false },
      { host: '0.0.0.0', port: 443, tls: true },
      { host: '::1', port: 8080, tls: false },
    ]);
    expect(allListeners({ host: '0.0.0.0', port: 80, tlsHost: '127.0.0.1', tlsPort: 443 })[1]).toEqual({ host: '127.0.0.1', port: 443, tls: true });
  });
});

describe('diffConfig: listeners, [tls] and [acme] need a restart', () => {
  const base: HttpdConfig = { ...defaultConfig(), vhostsDir: '/v', configFile: '/c.toml', tlsPort: 8443, certsDir: '/certs' };
  it.each<[string, Partial<HttpdConfig>, string]>([
    ['an extra listener added', { extraListeners: [{ host: '127.0.0.1', port: 81, tls: false }] }, 'extraListeners'],
    ['the TLS listener moved', { tlsHost: '127.0.0.2' }, 'tlsHost'],
    ['the TLS port changed', { tlsPort: 9443 }, 'tlsPort'],
    ['another certificates directory', { certsDir: '/other' }, 'certsDir'],
    ['redirect_http turned on', { redirectHttp: true }, 'redirectHttp'],
    ['hsts added', { hstsSeconds: 60 }, 'hstsSeconds'],
    ['an [acme] section added', { acme: { directoryUrl: 'https://ca.example/dir', email: 'a@b.example', stateDir: '/s', retryMs: 1000 } }, 'acme'],
  ])('%s: named, and the running value kept', (_name, change, key) => {
    const d = diffConfig(base, { ...base, ...change, cacheControl: 'no-store' });
    expect(d.changed).toEqual(['cacheControl', key].sort());
    expect(d.restartOnly).toEqual([key]);
    expect((d.applied as unknown as Record<string, unknown>)[key]).toEqual((base as unknown as Record<string, unknown>)[key]);
    expect(d.applied.cacheControl).toBe('no-store');
  });
});

describe('acmeMetrics (README "Monitoring")', () => {
  it('orders by result and each held certificate\'s expiry in Unix seconds', () => {
    const m = acmeMetrics({ issued: 2, failed: 5, expiries: [{ host: 'a.test', notAfter: 1_900_000_000_999 }] });
    expect(m.map((x) => [x.name, x.type])).toEqual([
      ['webroot_acme_orders_total', 'counter'],
      ['webroot_acme_certificate_expiry_timestamp_seconds', 'gauge'],
    ]);
    expect(m[0]!.values).toEqual([
      { value: 2, labels: { result: 'issued' } },
      { value: 5, labels: { result: 'failed' } },
    ]);
    expect(m[1]!.values).toEqual([{ value: 1_900_000_000, labels: { host: 'a.test' } }]);
  });
  it('no certificate yet: the counters at 0, no expiry series', () => {
    const m = acmeMetrics({ issued: 0, failed: 0, expiries: [] });
    expect(m[0]!.values.map((v) => v.value)).toEqual([0, 0]);
    expect(m[1]!.values).toEqual([]);
  });
});
