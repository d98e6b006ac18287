import fs from 'node:fs';
import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runPrimary } from './cluster/primary.js';
import { runWorker } from './cluster/worker.js';
import { parseSize, ROUTE_DEFAULTS, type HttpdConfig } from './config.js';
import { parseRouteSpec, type RouteSpec } from './routes/route-spec.js';
import { IO_MODES, type IoMode } from './io/executors.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './log.js';
import { VERSION } from './version.js';
import { fastSockets } from './server/fast-socket.js';

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

/** Checks the vhosts directory once, at start-up, so a typo fails fast with a clear line. */
function checkVhostsDir(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail(`${dir}: no such directory; give the directory of vhost entries (see: httpd --help)`);
    fail(`${dir}: cannot read (${code}); check its permissions`);
  }
  if (!stat.isDirectory()) fail(`${dir}: not a directory; give the directory of vhost entries, not a webroot file`);
  try {
    fs.readdirSync(dir);
  } catch (err) {
    fail(`${dir}: cannot list (${(err as NodeJS.ErrnoException).code}); check its permissions`);
  }
}

export function createProgram(): Command {
  const defaultWorkers = os.availableParallelism();
  return new Command('httpd')
    .description(
      'Serve every webroot in VHOSTS_DIR: each entry (a webroot file or a symlink to one) is a site named after its host;\n' +
        '__default__ serves hosts with no entry. Swap an entry (mv -T) to deploy: new requests move to the new file at once,\n' +
        'running ones finish on the old one.\n\nClassic form: httpd VHOSTS_DIR [sync|stream|async]',
    )
    .version(VERSION, '-V, --version')
    .argument('<VHOSTS_DIR>', 'directory of vhost entries')
    .argument('[IO]', 'IO mode, as in --io (classic form)')
    .addOption(new Option('--io <mode>', 'how bytes are read: sync (positioned reads), stream (sendfile-like stream from the fd), async (thread-pool reads)').choices(IO_MODES as string[]))
    .addOption(new Option('-p, --port <port>', 'TCP port (0: any free port)').default(8080).argParser(integer('--port', 0, 65535)))
    .option('-H, --host <address>', 'address to listen on', '0.0.0.0')
    .addOption(new Option('-w, --workers <n>', 'worker processes (0: serve in this process, no supervisor)').default(defaultWorkers, `${defaultWorkers}, one per core`).argParser(integer('--workers', 0, 256)))
    .addOption(new Option('--cache-size <size>', 'memory for small hot objects per worker, e.g. 64M (0: off)').default(32 * 1024 * 1024, '32M').argParser(size))
    .option('--cache-control <value>', 'Cache-Control sent with every file ("" to send none)', 'no-cache')
    .option('--autoindex', 'list directories that have no index.html')
    .addOption(new Option('--log-level <level>', 'least severe log level written').choices(LOG_LEVELS).default('info'))
    .option('--access-log <FILE|->', 'write an access log in combined format to FILE, or to standard output for -')
    .addOption(new Option('--rescan-interval <s>', 'rescan VHOSTS_DIR this often, for filesystems that lose watch events').default(1000, '1').argParser(seconds('--rescan-interval')))
    .option('--no-watch', 'do not watch VHOSTS_DIR for changes (rescan only on the timer and on SIGHUP)')
    .addOption(new Option('--header-timeout <s>', 'a request head must arrive within this long (else 408)').default(10_000, '10').argParser(seconds('--header-timeout')))
    .addOption(new Option('--keepalive-timeout <s>', 'close idle keep-alive connections after this long').default(5_000, '5').argParser(seconds('--keepalive-timeout')))
    .addOption(new Option('--send-timeout <s>', 'abandon a response whose client reads nothing for this long').default(30_000, '30').argParser(seconds('--send-timeout')))
    .addOption(new Option('--drain-timeout <s>', 'on SIGTERM, how long running responses may take to finish').default(10_000, '10').argParser(seconds('--drain-timeout')))
    .option('--route <[HOST]/PREFIX=MODULE>', 'serve PREFIX (on HOST, or every host) with the default export of an ES module, a fetch-style handler (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--route-body-limit <size>', 'largest request body a route accepts (else 413)').default(ROUTE_DEFAULTS.routeBodyLimit, '1M').argParser(size))
    .addOption(new Option('--route-body-timeout <s>', "a route's request body must arrive within this long (else 408)").default(ROUTE_DEFAULTS.routeBodyTimeoutMs, '30').argParser(seconds('--route-body-timeout')))
    .addOption(new Option('--route-timeout <s>', 'a route handler must answer within this long (else 504)').default(ROUTE_DEFAULTS.routeTimeoutMs, '30').argParser(seconds('--route-timeout')))
    .addOption(new Option('--watchdog <s>', "with routes: replace a worker whose event loop is blocked this long").default(ROUTE_DEFAULTS.watchdogMs, '10').argParser(seconds('--watchdog')))
    .showHelpAfterError('(run httpd --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.startsWith('error:') ? `httpd: ${str}` : str) })
    .action((vhostsDir: string, ioArg: string | undefined, opts: Record<string, unknown>) => {
      if (ioArg !== undefined && !IO_MODES.includes(ioArg as IoMode)) fail(`unknown IO mode '${ioArg}'; choose one of: ${IO_MODES.join(', ')}`);
      if (ioArg !== undefined && opts.io !== undefined && ioArg !== opts.io) fail(`IO mode given twice ('${ioArg}' and --io ${opts.io}); give one`);
      checkVhostsDir(vhostsDir);
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
        routes: routesOf(opts.route as string[]),
        routeBodyLimit: opts.routeBodyLimit as number,
        routeBodyTimeoutMs: opts.routeBodyTimeout as number,
        routeTimeoutMs: opts.routeTimeout as number,
        watchdogMs: opts.watchdog as number,
      };
      if (/[\r\n]/.test(config.cacheControl)) fail('--cache-control must not contain line breaks');
      if (config.workers === 0) {
        const log = createLogger(config.logLevel);
        runWorker(config, (addr) => {
          const shownHost = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
          log.log('info', 'listening', { url: `http://${shownHost}:${addr.port}/`, port: addr.port, io: config.io, workers: 0, vhosts: vhostsDir, cacheBytes: config.cacheBytes, fastSockets });
        });
      } else {
        void runPrimary(config);
      }
    });
}

export function main(argv: string[]): void {
  createProgram().parse(argv);
}
