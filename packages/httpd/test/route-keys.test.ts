import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem, loadConfigFile } from '../src/config/load.js';

// [[route]] entries of the configuration file (README "Dynamic routes", "Configuration file"), checked as
// loadConfigFile checks them for check-config, start-up and reloads: one FILE:LINE:COL problem each, with what to write.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'route-keys-cfg-'));
fs.mkdirSync(path.join(root, 'vhosts'));
fs.writeFileSync(path.join(root, 'api.mjs'), 'export default () => new Response("a");\n');
const base = (extra: string) => `vhosts = "vhosts"\nworkers = 2\nlog_level = "info"\n\n[[listen]]\naddress = "127.0.0.1:0"\n${extra}`;

const bad: [string, string, RegExp[]][] = [
  ['an unknown key, with a suggestion', `[[route]]\nprefix = "/api/"\nmodul = "./api.mjs"\n`, [/bad\.toml:7:1: route\[0\]\.module: expected the path of an ES module \(\.mjs or \.js\), got nothing \(the key is missing\)/, /bad\.toml:9:1: route\[0\]\.modul: unknown key in route\[0\]; did you mean 'module'\?/]],
  ['a module that does not exist', `[[route]]\nprefix = "/api/"\nmodule = "./missing.mjs"\n`, [/bad\.toml:9:1: route\[0\]\.module: .*missing\.mjs: no such file; give the path of an ES module/]],
  ['a module that is not an ES module file', `[[route]]\nprefix = "/api/"\nmodule = "./api.ts"\n`, [/bad\.toml:9:1: route\[0\]\.module: '\.\/api\.ts' is not an ES module file \(\.mjs or \.js\); write module = "\.\/api\.mjs"/]],
  ['a prefix with a dot-dot segment', `[[route]]\nprefix = "/a/../../x"\nmodule = "./api.mjs"\n`, [/bad\.toml:8:1: route\[0\]\.prefix: '\/a\/\.\.\/\.\.\/x' is not a path prefix .*; write prefix = "\/api\/"/]],
  ['a bad host', `[[route]]\nhost = "exa mple"\nprefix = "/api/"\nmodule = "./api.mjs"\n`, [/bad\.toml:8:1: route\[0\]\.host: 'exa mple' is not a host name; write host = "example.com"/]],
  ['the same prefix twice (with and without its slash)', `[[route]]\nprefix = "/api/"\nmodule = "./api.mjs"\n\n[[route]]\nprefix = "/api"\nmodule = "./api.mjs"\n`, [/bad\.toml:11:1: route\[1\]: the route for every host at \/api is already defined by route\[0\]; each \(host, prefix\) may appear once/]],
  ['a body limit that is not a size', `[[route]]\nprefix = "/api/"\nmodule = "./api.mjs"\nbody_limit = "lots"\n`, [/bad\.toml:10:1: route\[0\]\.body_limit: expected a size like 0, 65536, "512K", "64M" or "1G", got a string "lots"/]],
  ['a timeout that is not a duration', `[[route]]\nprefix = "/api/"\nmodule = "./api.mjs"\ntimeout = -1\n`, [/bad\.toml:10:1: route\[0\]\.timeout: expected a duration greater than 0/]],
  ['a route that is not an array of tables', `route = "/api=./api.mjs"\n`, [/bad\.toml:1:1: route: expected an array of tables \(write \[\[route\]\] blocks\)/]],
];

describe('[[route]] problems (FILE:LINE:COL: key: what is wrong; what to write)', () => {
  it.each(bad)('%s', (_name, extra, patterns) => {
    const file = path.join(root, 'bad.toml');
    // A top-level key goes before the first table.
    fs.writeFileSync(file, extra.startsWith('[') ? base(extra) : `${extra}${base('')}`);
    const outcome = loadConfigFile(file);
    expect(outcome.kind).toBe('invalid');
    const lines = outcome.kind === 'invalid' ? outcome.problems.map(formatProblem) : [];
    expect(lines).toHaveLength(patterns.length);
    patterns.forEach((p, i) => expect(lines[i]).toMatch(p));
  });

  it('a valid entry loads, with its module resolved against the file and its digest taken', () => {
    const file = path.join(root, 'good.toml');
    fs.writeFileSync(file, base(`[[route]]\nprefix = "/api/"\nmodule = "api.mjs"\nbody_timeout = "2s"\n`));
    const outcome = loadConfigFile(file);
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.config.routes).toEqual([{ host: undefined, prefix: '/api', module: path.join(root, 'api.mjs'), bodyTimeoutMs: 2000, moduleSha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });
});
