import type { Command } from 'commander';
import type { HttpdConfig } from '../config.js';
import { createLogger } from '../log.js';
import { effectiveFile, effectiveToml } from './effective.js';
import { formatProblem, loadConfigFile, type Overrides } from './load.js';

/** Command-line option (commander's attribute name) -> the setting it overrides. */
const FLAG_KEYS: Record<string, keyof HttpdConfig> = {
  io: 'io',
  port: 'port',
  host: 'host',
  workers: 'workers',
  cacheSize: 'cacheBytes',
  cacheControl: 'cacheControl',
  autoindex: 'autoindex',
  logLevel: 'logLevel',
  accessLog: 'accessLog',
  rescanInterval: 'rescanIntervalMs',
  watch: 'watch',
  headerTimeout: 'headerTimeoutMs',
  keepaliveTimeout: 'keepAliveTimeoutMs',
  sendTimeout: 'sendTimeoutMs',
  drainTimeout: 'drainTimeoutMs',
  routeBodyLimit: 'routeBodyLimit',
  routeBodyTimeout: 'routeBodyTimeoutMs',
  routeTimeout: 'routeTimeoutMs',
  watchdog: 'watchdogMs',
};

/** The settings given explicitly on the command line (not commander's defaults): these win over the file. */
export function commandLineOverrides(cmd: Command, opts: Record<string, unknown>, vhostsDir: string | undefined, ioArg: string | undefined): Overrides {
  const out: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    if (cmd.getOptionValueSource(flag) === 'cli') out[key] = flag === 'watch' ? opts.watch !== false : flag === 'autoindex' ? Boolean(opts.autoindex) : opts[flag];
  }
  if (vhostsDir !== undefined) out.vhostsDir = vhostsDir;
  if (ioArg !== undefined && out.io === undefined) out.io = ioArg;
  return out as Overrides;
}

/** `httpd --config FILE`: the file's settings with the command line's on top; exits 2 on any problem. */
export function configFromFile(file: string, overrides: Overrides): HttpdConfig {
  const outcome = loadConfigFile(file, overrides);
  if (outcome.kind === 'invalid') {
    for (const p of outcome.problems) process.stderr.write(`httpd: ${formatProblem(p)}\n`);
    process.stderr.write(`httpd: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'} in ${file}; not started\n`);
    process.exit(2);
  }
  const config = { ...outcome.config, overrides };
  const keys = Object.keys(overrides);
  if (keys.length > 0) createLogger(config.logLevel).log('info', 'config-overridden', { file: config.configFile, by: 'command line', keys });
  return config;
}

/** `httpd check-config FILE [--json]`, like `nginx -t`: exit 0 and the effective configuration, or 1 and every problem. */
export function checkConfig(file: string, json: boolean): never {
  const outcome = loadConfigFile(file);
  if (outcome.kind === 'invalid') {
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, problems: outcome.problems }, null, 2)}\n`);
    for (const p of outcome.problems) process.stderr.write(`httpd: ${formatProblem(p)}\n`);
    process.stderr.write(`httpd: ${file}: ${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}\n`);
    process.exit(1);
  }
  process.stdout.write(json ? `${JSON.stringify({ ok: true, config: effectiveFile(outcome.config) }, null, 2)}\n` : effectiveToml(outcome.config));
  if (!json) process.stderr.write(`httpd: ${file}: configuration is valid\n`);
  process.exit(0);
}
