import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runPrimary } from './cluster/primary.js';
import { runWorker } from './cluster/worker.js';
import { parseSize, ROUTE_DEFAULTS, type HttpdConfig } from './config.js';
import { parseRouteSpec, type RouteSpec } from './routes/route-spec.js';
import { IO_MODES, type IoMode } from './io/executors.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './log.js';
import { VERSION } from './version.js';
import { fastSockets } from './server/fast-socket.js';
import { sendfileInUse, sendfileSettingProblem } from './io/sendfile.js';
import { ownHandles } from './server/handle-wire.js';
import { createUpgradeProgram } from './upgrade-command.js';
import { checkConfig, commandLineOverrides, configFromFile } from './config/command-line.js';
import { acmeFlagOptions, acmeFromFlags, prepareAcmeState } from './acme/acme-flags.js';
import { deployConfig } from './follow/deploy-options.js';
import { FOLLOW_DEFAULTS } from './follow/follow-options.js';
import { startDeploy } from './follow/start-deploy.js';
import { finishRoutes } from './config/route-keys.js';
import { listenerUrls } from './cluster/extra-listeners.js';

function fail(message: string): never {
  process.stderr.write(`httpd: ${message}\n`);
  process.exit(2);
}

function integer(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function seconds(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > 86400) throw new InvalidArgumentError(`${name} must be a number of seconds greater than 0, like 5 or 0.5.`);
    return Math.round(n * 1000);
  };
}

function size(v: string): number {
  const n = parseSize(v);
  if (n === undefined) throw new InvalidArgumentError('expected a size like 0, 65536, 512K, 64M or 1G.');
  return n;
}

/** --route values, checked at start-up: the syntax, and that each module file exists (it is imported by the workers). */
function routesOf(values: string[]): RouteSpec[] {
  return values.map((value) => {
    const parsed = parseRouteSpec(value, process.cwd());
    if (parsed.kind === 'error') fail(`--route ${parsed.message}`);
    const { spec } = parsed;
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(spec.module);
    } catch {
      fail(`--route ${value}: ${spec.module}: no such file; give the path of an ES module whose default export handles the requests`);
    }
    if (!stat.isFile()) fail(`--route ${value}: ${spec.module} is not a file`);
    return spec;
  });
}

/** Checks the vhosts (or certificate) directory once, at start-up, so a typo fails fast with a clear line. */
function checkVhostsDir(dir: string, what = 'vhost entries'): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`${dir}: no such directory; give the directory of ${what} (see: httpd --help)`);
    fail(`${dir}: cannot read (${code}); check its permissions`);
  }
  if (!stat.isDirectory()) fail(`${dir}: not a directory; give the directory of ${what}${what === 'vhost entries' ? ', not a webroot file' : ''}`);
  try {
    fs.readdirSync(dir);
  } catch (err) {
    fail(`${dir}: cannot list (${(err as NodeJS.ErrnoException).code}); check its permissions`);
  }
}

export function createProgram(): Command {
  const defaultWorkers = os.availableParallelism();
  const program = new Command('httpd');
  program
    .command('check-config')
    .description('validate a configuration file and print the effective configuration (defaults filled in); exit 0 if valid, 1 if not')
    .argument('<FILE>', 'TOML configuration file')
    .option('--json', 'print JSON instead of TOML')
    .action((file: string, o: { json?: boolean }) => checkConfig(file, o.json === true));
  return program
    .description(
      // One paragraph per line: commander wraps them to the terminal's width.
      'Serve every webroot in VHOSTS_DIR: each entry (a webroot file or a symlink to one) is a site named after its host; ' +
        '__default__ serves hosts with no entry. Swap an entry (mv -T) to deploy: new requests move to the new file at once, ' +
        'running ones finish on the old one.\n\nClassic form: httpd VHOSTS_DIR [sync|stream|async]',
    )
    .version(VERSION, '-V, --version')
    .usage('[options] <VHOSTS_DIR> [IO]\n       httpd --config FILE [options] [VHOSTS_DIR]\n       httpd check-config FILE [--json]')
    .argument('[VHOSTS_DIR]', 'directory of vhost entries (optional with --config, where it overrides vhosts)')
    .argument('[IO]', 'IO mode, as in --io (classic form)')
    .addOption(new Option('--io <mode>', 'how bytes are read: sync (positioned reads), stream (sendfile-like stream from the fd), async (thread-pool reads)').choices(IO_MODES as string[]))
    .addOption(new Option('-p, --port <port>', 'TCP port (0: any free port)').default(8080).argParser(integer('--port', 0, 65535)))
    .option('-H, --host <address>', 'address to listen on', '0.0.0.0')
    .addOption(new Option('-w, --workers <n>', 'worker processes (0: serve in this process, no supervisor)').default(defaultWorkers, `${defaultWorkers}, one per core`).argParser(integer('--workers', 0, 256)))
    .addOption(new Option('--cache-size <size>', 'memory for small hot objects per worker, e.g. 64M (0: off)').default(32 * 1024 * 1024, '32M').argParser(size))
    .option('--cache-control <value>', 'Cache-Control sent with every file ("" to send none)', 'no-cache')
    .option('-c, --config <FILE>', 'read settings from a TOML file (see README: Configuration file); options given here override it')
    .option('--autoindex', 'list directories that have no index.html')
    .addOption(new Option('--log-level <level>', 'least severe log level written').choices(LOG_LEVELS).default('info'))
    .option('--access-log <FILE|->', 'write an access log in combined format to FILE, or to standard output for -')
    .addOption(new Option('--rescan-interval <s>', 'rescan VHOSTS_DIR this often, for filesystems that lose watch events').default(1000, '1').argParser(seconds('--rescan-interval')))
    .option('--no-watch', 'do not watch VHOSTS_DIR for changes (rescan only on the timer and on SIGHUP)')
    .addOption(new Option('--header-timeout <s>', 'a request head must arrive within this long (else 408)').default(10_000, '10').argParser(seconds('--header-timeout')))
    .addOption(new Option('--keepalive-timeout <s>', 'close idle keep-alive connections after this long').default(5_000, '5').argParser(seconds('--keepalive-timeout')))
    .addOption(new Option('--send-timeout <s>', 'abandon a response whose client reads nothing for this long').default(30_000, '30').argParser(seconds('--send-timeout')))
    .addOption(new Option('--tls-port <port>', 'also serve HTTPS on this TCP port (needs --certs; 0: any free port)').argParser(integer('--tls-port', 0, 65535)))
    .option('--certs <CERTS_DIR>', 'directory of <host>.crt + <host>.key PEM pairs (_.example.com for *.example.com, __default__ for clients without SNI)')
    .option('--redirect-http', 'answer plain-HTTP requests for hosts with a certificate with 308 to https:// (path and query kept)')
    .addOption(new Option('--hsts <seconds>', 'send Strict-Transport-Security: max-age=SECONDS on HTTPS responses').argParser(integer('--hsts', 0, 2 ** 31 - 1)))
    .option('--acme-directory <URL>', "get a certificate for every vhost host name from this ACME CA's directory URL (needs the other --acme-* options, --tls-port and --certs)")
    .option('--acme-email <EMAIL>', 'contact email of the ACME account')
    .option('--acme-agree-tos', "agree to the ACME CA's terms of service")
    .option('--acme-state <DIR>', 'directory for the ACME account key and issued certificates (created, files 0600)')
    .addOption(new Option('--acme-retry <s>', 'first retry delay after a failed ACME order; doubles per failure up to 6 hours').default(undefined, '60').argParser(seconds('--acme-retry')))
    .addOption(new Option('--drain-timeout <s>', 'on SIGTERM, how long running responses may take to finish').default(10_000, '10').argParser(seconds('--drain-timeout')))
    .option('--follow <spec>', 'follow a release channel: host=H,manifest=URL,key=KEY.pub, and optionally interval=10s, timeout=30s, preview=SUFFIX|off (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--releases <DIR>', 'where followed releases are kept, one directory per host')
    .option('--keep <N>', `releases kept per followed host (default: ${FOLLOW_DEFAULTS.keep})`)
    .option('--status <[HOST:]PORT>', 'serve GET /status (which release each host serves) on HOST:PORT, loopback by default')
    // Running as a service: see README "Under systemd" and "Upgrading httpd itself".
    .addOption(new Option('--listen-fd <fd>', 'serve on this inherited listening socket instead of binding --host/--port (systemd LISTEN_FDS is used without it)').argParser(integer('--listen-fd', 3, 65535)))
    .option('--user <name>', 'once the socket is bound, the primary drops to this user (started as root); workers never run as root')
    .option('--group <name>', "with --user: the group to drop to (default: the user's primary group)")
    .option('--pid-file <FILE>', "write the primary's PID here once it is ready (for httpd upgrade)")
    .addOption(new Option('--upgrade-timeout <s>', 'on SIGUSR2, how long the new primary may take to get ready before the old one gives up on it').default(30_000, '30').argParser(seconds('--upgrade-timeout')))
    .option('--route <[HOST]/PREFIX=MODULE>', 'serve PREFIX (on HOST, or every host) with the default export of an ES module, a fetch-style handler (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--route-body-limit <size>', 'largest request body a route accepts (else 413)').default(ROUTE_DEFAULTS.routeBodyLimit, '1M').argParser(size))
    .addOption(new Option('--route-body-timeout <s>', "a route's request body must arrive within this long (else 408)").default(ROUTE_DEFAULTS.routeBodyTimeoutMs, '30').argParser(seconds('--route-body-timeout')))
    .addOption(new Option('--route-timeout <s>', 'a route handler must answer within this long (else 504)').default(ROUTE_DEFAULTS.routeTimeoutMs, '30').argParser(seconds('--route-timeout')))
    .addOption(new Option('--watchdog <s>', "with routes: replace a worker whose event loop is blocked this long").default(ROUTE_DEFAULTS.watchdogMs, '10').argParser(seconds('--watchdog')))
    .showHelpAfterError('(run httpd --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.startsWith('error:') ? `httpd: ${str}` : str) })
    .action((vhostsDir: string | undefined, ioArg: string | undefined, opts: Record<string, unknown>, cmd: Command) => {
      if (ioArg !== undefined && !IO_MODES.includes(ioArg as IoMode)) fail(`unknown IO mode '${ioArg}'; choose one of: ${IO_MODES.join(', ')}`);
      if (ioArg !== undefined && opts.io !== undefined && ioArg !== opts.io) fail(`IO mode given twice ('${ioArg}' and --io ${opts.io}); give one`);
      if (opts.config !== undefined && /[\r\n]/.test(String(opts.cacheControl))) fail('--cache-control must not contain line breaks');
      if (opts.config !== undefined) {
        // The TLS and ACME flags override [tls], the TLS [[listen]] entry and [acme]; config/secure-keys.ts checks what they need of each other.
        const acmeFlags = acmeFlagOptions(opts, fail);
        // The service options ride with the command line's overrides, so a reload of the file keeps them (and does not report them as changes).
        // --route flags replace the file's [[route]] entries (the command line wins, as for every key).
        const routes = (opts.route as string[]).length > 0 ? { routes: routesOf(opts.route as string[]) } : {};
        const fromFile = configFromFile(opts.config as string, {
          ...commandLineOverrides(cmd, opts, vhostsDir, ioArg),
          ...serviceOptions(opts),
          ...tlsFlags(opts),
          ...(acmeFlags !== undefined ? { acme: acmeFlags } : {}),
          ...routes,
        });
        // The deploy flags apply with a configuration file too (the file has no follow keys yet).
        const deploy = deployConfig(opts as Parameters<typeof deployConfig>[0], fromFile.vhostsDir);
        if ('error' in deploy) fail(deploy.error);
        // Like the other flags, they hold on every reload (which reads the file with the overrides on top).
        fromFile.overrides = { ...fromFile.overrides, ...deploy };
        if (fromFile.acme !== undefined) prepareAcmeState(fromFile.acme, fail);
        return start(Object.assign(fromFile, deploy));
      }
      const tls = tlsOptions(opts);
      if (vhostsDir === undefined) fail('give VHOSTS_DIR, or a configuration file with --config FILE (see: httpd --help)');
      checkVhostsDir(vhostsDir);
      const acme = acmeFromFlags(opts, { tls: tls.tlsPort !== undefined, workers: opts.workers as number }, fail);
      const config: HttpdConfig = {
        vhostsDir,
        io: (opts.io as IoMode | undefined) ?? (ioArg as IoMode | undefined) ?? 'sync',
        port: opts.port as number,
        host: opts.host as string,
        workers: opts.workers as number,
        cacheBytes: opts.cacheSize as number,
        cacheControl: opts.cacheControl as string,
        autoindex: Boolean(opts.autoindex),
        logLevel: opts.logLevel as LogLevel,
        accessLog: opts.accessLog as string | undefined,
        rescanIntervalMs: opts.rescanInterval as number,
        watch: opts.watch !== false,
        headerTimeoutMs: opts.headerTimeout as number,
        keepAliveTimeoutMs: opts.keepaliveTimeout as number,
        sendTimeoutMs: opts.sendTimeout as number,
        drainTimeoutMs: opts.drainTimeout as number,
        ...tls,
        ...(acme !== undefined ? { acme } : {}),
        ...serviceOptions(opts),
        routes: finishRoutes(routesOf(opts.route as string[]), {}),
        routeBodyLimit: opts.routeBodyLimit as number,
        routeBodyTimeoutMs: opts.routeBodyTimeout as number,
        routeTimeoutMs: opts.routeTimeout as number,
        watchdogMs: opts.watchdog as number,
      };
      if (/[\r\n]/.test(config.cacheControl)) fail('--cache-control must not contain line breaks');
      const deploy = deployConfig(opts as Parameters<typeof deployConfig>[0], vhostsDir);
      if ('error' in deploy) fail(deploy.error);
      start(Object.assign(config, deploy));
    });
}

/** --tls-port, --certs, --redirect-http, --hsts: checked together, once (see tls/). */
function tlsOptions(opts: Record<string, unknown>): Pick<HttpdConfig, 'tlsPort' | 'certsDir' | 'redirectHttp' | 'hstsSeconds'> {
  const tlsPort = opts.tlsPort as number | undefined;
  const certsDir = opts.certs as string | undefined;
  if (tlsPort !== undefined && certsDir === undefined) fail('--tls-port needs --certs CERTS_DIR (the directory of <host>.crt and <host>.key files)');
  if (certsDir !== undefined && tlsPort === undefined) fail('--certs needs --tls-port PORT (the port to serve HTTPS on, e.g. 8443)');
  if (opts.redirectHttp && tlsPort === undefined) fail('--redirect-http needs --tls-port and --certs (it redirects to the HTTPS listener)');
  if (opts.hsts !== undefined && tlsPort === undefined) fail('--hsts needs --tls-port and --certs (the header is sent on HTTPS responses only)');
  if (certsDir === undefined) return {};
  checkVhostsDir(certsDir, 'certificate');
  return { tlsPort, certsDir, redirectHttp: Boolean(opts.redirectHttp), ...(opts.hsts !== undefined ? { hstsSeconds: opts.hsts as number } : {}) };
}

/** With --config: the TLS flags given, as overrides of the file's keys (checked with them in config/secure-keys.ts). */
function tlsFlags(opts: Record<string, unknown>): Pick<HttpdConfig, 'tlsPort' | 'certsDir' | 'redirectHttp' | 'hstsSeconds'> {
  return {
    ...(opts.tlsPort !== undefined ? { tlsPort: opts.tlsPort as number } : {}),
    ...(opts.certs !== undefined ? { certsDir: path.resolve(opts.certs as string) } : {}),
    ...(opts.redirectHttp ? { redirectHttp: true } : {}),
    ...(opts.hsts !== undefined ? { hstsSeconds: opts.hsts as number } : {}),
  };
}

/** How the process runs as a service (README "Under systemd", "Upgrading httpd itself"): command line only, never from the file. */
function serviceOptions(opts: Record<string, unknown>): Pick<HttpdConfig, 'listenFds' | 'user' | 'group' | 'pidFile' | 'upgradeTimeoutMs'> {
  const out: Pick<HttpdConfig, 'listenFds' | 'user' | 'group' | 'pidFile' | 'upgradeTimeoutMs'> = {};
  if (opts.listenFd !== undefined) out.listenFds = [opts.listenFd as number];
  if (opts.user !== undefined) out.user = opts.user as string;
  if (opts.group !== undefined) out.group = opts.group as string;
  if (opts.pidFile !== undefined) out.pidFile = opts.pidFile as string;
  // The default stays out of the object: then a reload compares nothing new.
  if (opts.upgradeTimeout !== 30_000) out.upgradeTimeoutMs = opts.upgradeTimeout as number;
  return out;
}

function start(config: HttpdConfig): void {
  if (sendfileSettingProblem !== undefined) fail(sendfileSettingProblem);
  if (config.workers === 0) {
    const serviceOption = config.listenFds ? '--listen-fd' : config.user ? '--user' : config.group ? '--group' : config.pidFile ? '--pid-file' : process.env.LISTEN_FDS ? 'LISTEN_FDS (socket activation)' : undefined;
    if (serviceOption) fail(`${serviceOption} needs the supervisor: use --workers 1 or more, not 0`);
    const log = createLogger(config.logLevel);
    void startDeploy(config, log, () => []);
    runWorker(config, (addr, boundTlsPort, extras = []) => {
      const shownHost = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
      const tlsHost = config.tlsHost === undefined ? shownHost : config.tlsHost.includes(':') ? `[${config.tlsHost}]` : config.tlsHost;
      const tlsFields = boundTlsPort !== undefined ? { tlsUrl: `https://${tlsHost}:${boundTlsPort}/`, tlsPort: boundTlsPort } : {};
      const all = [{ host: addr.address, port: addr.port, tls: false }, ...(boundTlsPort !== undefined ? [{ host: config.tlsHost ?? addr.address, port: boundTlsPort, tls: true }] : []), ...extras];
      log.log('info', 'listening', { url: `http://${shownHost}:${addr.port}/`, port: addr.port, ...tlsFields, ...(extras.length > 0 ? { listeners: listenerUrls(all) } : {}), io: config.io, workers: 0, vhosts: config.vhostsDir, cacheBytes: config.cacheBytes, fastSockets, ownHandles, sendfile: sendfileInUse(config.io) });
    });
  } else {
    void runPrimary(config);
  }
}

export function main(argv: string[]): void {
  // `httpd upgrade ...` is its own small program (a vhosts directory named "upgrade" is ./upgrade).
  if (argv[2] === 'upgrade') {
    void createUpgradeProgram().parseAsync([...argv.slice(0, 2), ...argv.slice(3)]);
    return;
  }
  createProgram().parse(argv);
}
