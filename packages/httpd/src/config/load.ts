import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { ZodIssue } from 'zod';
import type { HostSettings, HttpdConfig, MountConfig } from '../config.js';
import { formatAddress, overlaps, type Address } from './address.js';
import { directoryProblem, webrootProblem } from './fs-checks.js';
import { namedListeners, overlappingListeners, planListeners } from './listeners.js';
import { secureKeysInFile, secureProblems, secureSettings } from './secure-keys.js';
import { locateKeys, positionOf, type Position } from './locate.js';
import { fileSchema, knownKeys, type FileConfig } from './schema.js';
import { closest } from './suggest.js';
import { finishRoutes, routesFromFile } from './route-keys.js';

/** One thing wrong with a configuration: where (when known), which key, what to write instead. */
export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path ('mount[1].prefix'), or '' for the document. */
  key: string;
  message: string;
}

export type ConfigOutcome = { kind: 'ok'; config: HttpdConfig } | { kind: 'invalid'; problems: ConfigProblem[] };

/** FILE:LINE:COLUMN: key: message (the form editors and `nginx -t` users expect). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${where}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

/** The defaults of every setting: the same as the command line's. */
export function defaultConfig(): Omit<HttpdConfig, 'vhostsDir'> {
  return {
    io: 'sync',
    port: 8080,
    host: '0.0.0.0',
    workers: os.availableParallelism(),
    cacheBytes: 32 * 1024 * 1024,
    cacheControl: 'no-cache',
    autoindex: false,
    logLevel: 'info',
    rescanIntervalMs: 1000,
    watch: true,
    headerTimeoutMs: 10_000,
    keepAliveTimeoutMs: 5_000,
    sendTimeoutMs: 30_000,
    drainTimeoutMs: 10_000,
    accessLogFormat: 'combined',
    hosts: [],
    mounts: [],
  };
}

function keyText(p: readonly (string | number)[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function issueProblems(issue: ZodIssue, file: string, positions: Map<string, Position>): ConfigProblem[] {
  const at = (p: readonly (string | number)[]) => positionOf(positions, p);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const full = [...issue.path, k];
      const known = knownKeys(issue.path);
      const guess = closest(k, known);
      const table = issue.path.length === 0 ? 'at the top level' : `in ${keyText(issue.path)}`;
      return {
        file,
        ...at(full),
        key: keyText(full),
        message: `unknown key ${table}; ${guess ? `did you mean '${guess}'?` : `known keys: ${known.join(', ')}`}`,
      };
    });
  }
  return [{ file, ...at(issue.path), key: keyText(issue.path), message: issue.message }];
}

/** Parses and checks the shape of a configuration text; no defaults, no filesystem. */
export function parseConfigText(source: string, file: string): { kind: 'ok'; value: FileConfig; positions: Map<string, Position> } | { kind: 'invalid'; problems: ConfigProblem[] } {
  let doc: unknown;
  try {
    doc = parseToml(source);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      return { kind: 'invalid', problems: [{ file, line: err.line, column: err.column, key: '', message: `not valid TOML: ${first}` }] };
    }
    throw err;
  }
  const positions = locateKeys(source);
  const result = fileSchema.safeParse(doc);
  if (!result.success) return { kind: 'invalid', problems: byPosition(result.error.issues.flatMap((i) => issueProblems(i, file, positions))) };
  return { kind: 'ok', value: result.data, positions };
}

/** Settings given on the command line, which win over the file. */
export type Overrides = Partial<HttpdConfig>;

/**
 * Reads FILE, fills defaults, applies `overrides`, and checks what the shape
 * cannot: paths exist, no duplicate hosts, aliases or mounts, no overlapping
 * listeners. Relative paths in the file are relative to the file's directory.
 */
export function loadConfigFile(file: string, overrides: Overrides = {}): ConfigOutcome {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'no such file; give the path of a TOML configuration file' : code === 'EISDIR' ? 'is a directory; give the path of a TOML configuration file' : `cannot read (${code}); check its permissions`;
    return { kind: 'invalid', problems: [{ file, key: '', message: what }] };
  }
  const parsed = parseConfigText(source, file);
  if (parsed.kind === 'invalid') return parsed;
  return resolveConfig(parsed.value, parsed.positions, file, overrides);
}

export function resolveConfig(f: FileConfig, positions: Map<string, Position>, file: string, overrides: Overrides = {}): ConfigOutcome {
  const problems: ConfigProblem[] = [];
  const problem = (p: (string | number)[], message: string) => problems.push({ file, ...positionOf(positions, p), key: keyText(p), message });
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string) => (p === '-' ? p : path.resolve(dir, p));
  const d = defaultConfig();

  const { plan, problems: listenProblems } = planListeners(f.listen ?? []);
  for (const p of listenProblems) problem(p.path, p.message);
  const listen = plan.main?.address;
  const hosts: HostSettings[] = (f.host ?? []).map((h) => ({
    name: h.name.toLowerCase().replace(/\.$/, ''),
    aliases: (h.aliases ?? []).map((a) => a.toLowerCase().replace(/\.$/, '')),
    ...(h.cache_control !== undefined ? { cacheControl: h.cache_control } : {}),
    ...(h.autoindex !== undefined ? { autoindex: h.autoindex } : {}),
    ...(h.access_log !== undefined ? { accessLog: abs(h.access_log) } : {}),
  }));
  const mounts: MountConfig[] = (f.mount ?? []).map((m) => ({ host: m.host.toLowerCase().replace(/\.$/, ''), prefix: m.prefix, webroot: abs(m.webroot) }));
  const routes = routesFromFile(f.route ?? [], dir, problem);

  const config: HttpdConfig = {
    ...d,
    vhostsDir: f.vhosts !== undefined ? abs(f.vhosts) : '',
    ...(f.io !== undefined ? { io: f.io } : {}),
    ...(listen ? { host: listen.host, port: listen.port } : {}),
    ...(f.workers !== undefined ? { workers: f.workers } : {}),
    ...(f.cache_size !== undefined ? { cacheBytes: f.cache_size } : {}),
    ...(f.cache_control !== undefined ? { cacheControl: f.cache_control } : {}),
    ...(f.autoindex !== undefined ? { autoindex: f.autoindex } : {}),
    ...(f.log_level !== undefined ? { logLevel: f.log_level } : {}),
    ...(f.rescan_interval !== undefined ? { rescanIntervalMs: f.rescan_interval } : {}),
    ...(f.watch !== undefined ? { watch: f.watch } : {}),
    ...(f.timeouts?.header !== undefined ? { headerTimeoutMs: f.timeouts.header } : {}),
    ...(f.timeouts?.keepalive !== undefined ? { keepAliveTimeoutMs: f.timeouts.keepalive } : {}),
    ...(f.timeouts?.send !== undefined ? { sendTimeoutMs: f.timeouts.send } : {}),
    ...(f.timeouts?.drain !== undefined ? { drainTimeoutMs: f.timeouts.drain } : {}),
    ...(f.access_log?.path !== undefined ? { accessLog: abs(f.access_log.path) } : {}),
    ...(f.access_log?.format !== undefined ? { accessLogFormat: f.access_log.format } : {}),
    ...(f.admin !== undefined ? { admin: f.admin } : {}),
    ...(plan.tls ? { tlsHost: plan.tls.address.host, tlsPort: plan.tls.address.port } : {}),
    ...(plan.extra.length > 0 ? { extraListeners: plan.extra.map((e) => e.listener) } : {}),
    ...secureSettings(f, abs, problem, { acmeFromFlags: overrides.acme !== undefined }),
    hosts,
    mounts,
    ...(routes.length > 0 ? { routes } : {}),
    ...(f.watchdog !== undefined ? { watchdogMs: f.watchdog } : {}),
    configFile: path.resolve(file),
    ...overrides,
  };
  // --route flags replace the file's routes (the command line wins); limit flags win over each route's keys.
  if (config.routes !== undefined) config.routes = finishRoutes(config.routes, overrides);

  if (config.vhostsDir === '') problem([], "no vhosts directory: add vhosts = \"/srv/webroot/vhosts\" (or give VHOSTS_DIR on the command line)");
  else {
    const why = directoryProblem(config.vhostsDir);
    if (why) problem(overrides.vhostsDir !== undefined ? [] : ['vhosts'], `${config.vhostsDir}: ${why}`);
  }
  // Every listener as it will be bound (the command line's --port/--host/--tls-port included), each named by its [[listen]] entry.
  const fromFlag = (k: keyof HttpdConfig) => overrides[k] !== undefined;
  const listeners = namedListeners(config, plan, fromFlag);
  for (const p of overlappingListeners(listeners)) problem(p.path, p.message);
  const adminOverlap = config.admin ? listeners.find((l) => overlaps(config.admin!, l.address)) : undefined;
  if (adminOverlap) problem(['admin'], `overlaps the listener ${formatAddress(adminOverlap.address)}; give the admin listener its own port`);
  secureProblems(config, { tlsListener: plan.tls && !fromFlag('tlsPort') ? ['listen', plan.tls.index, 'tls'] : undefined, fromFile: secureKeysInFile(f, fromFlag) }, problem);
  const logPaths: [string | undefined, (string | number)[]][] = [[config.accessLog, ['access_log', 'path']], ...hosts.map((h, i) => [h.accessLog, ['host', i, 'access_log']] as [string | undefined, (string | number)[]])];
  for (const [p, key] of logPaths) {
    if (p === undefined || p === '-') continue;
    const why = directoryProblem(path.dirname(p));
    if (why) problem(key, `${path.dirname(p)}: ${why} (the directory of the access log must exist)`);
  }

  const names = new Map<string, string>();
  const claim = (name: string, key: (string | number)[]) => {
    const before = names.get(name);
    if (before !== undefined) problem(key, `'${name}' is already named by ${before}; each host name and alias may appear once`);
    else names.set(name, keyText(key));
  };
  hosts.forEach((h, i) => {
    if (!validHostName(h.name)) problem(['host', i, 'name'], `'${h.name}' is not a host name; write a name like "example.com" (or "__default__")`);
    claim(h.name, ['host', i, 'name']);
    h.aliases.forEach((a, j) => {
      if (!validHostName(a) || a === '__default__') problem(['host', i, 'aliases', j], `'${a}' is not a host name; write a name like "www.example.com"`);
      claim(a, ['host', i, 'aliases']);
    });
  });
  const mountKeys = new Map<string, number>();
  mounts.forEach((m, i) => {
    if (!validHostName(m.host)) problem(['mount', i, 'host'], `'${m.host}' is not a host name; write a name like "example.com" (or "__default__")`);
    const why = prefixProblem(m.prefix);
    if (why) problem(['mount', i, 'prefix'], why);
    const key = `${m.host} ${m.prefix}`;
    const before = mountKeys.get(key);
    if (before !== undefined) problem(['mount', i], `mount ${m.host}${m.prefix} is already defined by mount[${before}]; each (host, prefix) may appear once`);
    else mountKeys.set(key, i);
    const fileWhy = webrootProblem(m.webroot);
    if (fileWhy) problem(['mount', i, 'webroot'], `${m.webroot}: ${fileWhy}`);
  });
  return problems.length > 0 ? { kind: 'invalid', problems: byPosition(problems) } : { kind: 'ok', config };
}

/** In the order they appear in the file (those without a position first). */
function byPosition(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function validHostName(name: string): boolean {
  return name === '__default__' || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name) || /^\[[0-9a-f:.]+\]$/.test(name);
}

/** A mount prefix is a normalised path that starts and ends with '/': what the request path is compared with. */
export function prefixProblem(prefix: string): string | undefined {
  if (!prefix.startsWith('/') || !prefix.endsWith('/') || prefix === '/') return `'${prefix}' must start and end with '/' and not be '/' itself; write a prefix like "/docs/"`;
  const segments = prefix.slice(1, -1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return `'${prefix}' has an empty, '.' or '..' segment; write the normalised path, like "/docs/v2/"`;
  if (/[%?#\\\x00-\x20\x7f]/.test(prefix)) return `'${prefix}' contains a character that is not allowed in a prefix (%, ?, #, \\, space or a control character); write the decoded path`;
  return undefined;
}

export type { Address };
