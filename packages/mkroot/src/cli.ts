import { Command, InvalidArgumentError, Option } from 'commander';
import { WebrootError, openWebroot, type Encoding } from '@webroot/format';
import { removeAllTemporaryFiles } from '@webroot/format/writer';
import { DEFAULT_COMPRESSION } from './compress.js';
import { MkrootError } from './errors.js';
import { formatBytes } from './format-units.js';
import { describeWebroot, diffWebroots, fileAt, listEntries, withWebroot } from './inspect.js';
import { parseMimeOverrides } from './mime.js';
import { packDirectory, type PackProgress } from './pack.js';
import { VERSION } from './version.js';
import { deployCommands } from './deploy-cli.js';

function fail(message: string): never {
  process.stderr.write(`mkroot: ${message}\n`);
  process.exit(1);
}

/** Expected failures print one line; anything else is a bug and says so. */
function report(err: unknown): never {
  if (err instanceof MkrootError || err instanceof WebrootError) fail(err.message);
  if (process.env.MKROOT_DEBUG) console.error(err);
  fail(`internal error: ${(err as Error)?.message ?? String(err)} (set MKROOT_DEBUG=1 for details, and please report it)`);
}

function intInRange(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function progressPrinter(enabled: boolean): { update: (p: PackProgress) => void; clear: () => void } {
  if (!enabled) return { update: () => {}, clear: () => {} };
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 200 && p.filesDone !== p.filesTotal) return;
      last = now;
      shown = true;
      const rate = p.bytesDone / Math.max(0.001, (now - started) / 1000);
      process.stderr.write(
        `\r\x1b[K${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}, ${formatBytes(rate)}/s`,
      );
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

async function build(src: string, out: string, opts: Record<string, unknown>): Promise<void> {
  const quiet = Boolean(opts.quiet);
  const progress = progressPrinter(!quiet && process.stderr.isTTY === true);
  const onSignal = (signal: NodeJS.Signals) => {
    removeAllTemporaryFiles();
    progress.clear();
    process.stderr.write(`mkroot: interrupted by ${signal}; no output written\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary = await packDirectory(src, out, {
    compress: opts.compress !== false,
    compression: { brotliQuality: opts.brotliQuality as number, gzipLevel: opts.gzipLevel as number },
    includeDotfiles: Boolean(opts.includeDotfiles),
    skipEscapingLinks: Boolean(opts.skipEscapingLinks),
    mimeOverrides: parseMimeOverrides((opts.mime as string[]) ?? []),
    reuse: opts.reuse as string | undefined,
    warn: (m) => {
      progress.clear();
      process.stderr.write(`mkroot: warning: ${m}\n`);
    },
    progress: progress.update,
  });
  progress.clear();
  if (!quiet) {
    const s = summary;
    const parts = [
      `${s.files} files (${formatBytes(s.bytesIn)}) in ${s.directories} directories`,
      `${s.deduplicated} deduplicated`,
      s.compressedFiles > 0
        ? `${s.compressedFiles} precompressed saving ${formatBytes(s.compressionSavings)}${s.reusedVariants ? ` (${s.reusedVariants} variants reused)` : ''}`
        : 'no precompression',
      `${formatBytes(s.size)} written in ${s.seconds.toFixed(2)} s`,
    ];
    process.stdout.write(`mkroot: ${out}: ${parts.join(', ')}\n`);
  }
}

function buildCommand(program: Command, name: string, isDefault: boolean): void {
  program
    .command(name, { isDefault, hidden: isDefault && name !== 'build' })
    .description('pack SRC_DIR into the webroot file OUT (written atomically: temp file, fsync, rename)')
    .argument('<SRC_DIR>', 'directory holding the site')
    .argument('<OUT>', 'webroot file to write, e.g. site.webroot')
    .option('--no-compress', 'store no precompressed (br, gzip) variants')
    .option('--include-dotfiles', 'pack files and directories whose names start with "." (default: only .well-known/)')
    .option('--skip-escaping-links', 'skip, with a warning, symlinks that point outside SRC_DIR (default: error)')
    .option('--mime <.ext=type>', 'media type for an extension, e.g. --mime .webmanifest=application/manifest+json (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--reuse <OLD.webroot>', 'reuse compressed variants of unchanged content from an earlier webroot (fast redeploys)')
    .addOption(new Option('--brotli-quality <0-11>', 'brotli quality').default(DEFAULT_COMPRESSION.brotliQuality).argParser(intInRange('--brotli-quality', 0, 11)))
    .addOption(new Option('--gzip-level <1-9>', 'gzip level').default(DEFAULT_COMPRESSION.gzipLevel).argParser(intInRange('--gzip-level', 1, 9)))
    .option('-q, --quiet', 'print nothing but errors and warnings')
    .action((src: string, out: string, opts: Record<string, unknown>) => build(src, out, opts).catch(report));
}

export function createProgram(): Command {
  const program = new Command('mkroot')
    .description('Pack a directory into one webroot file, and inspect webroot files.\n\nClassic form: mkroot SRC_DIR OUT.webroot  (same as: mkroot build SRC_DIR OUT.webroot)')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.startsWith('error:') ? `mkroot: ${str}` : str) });

  buildCommand(program, 'build', true);

  program
    .command('ls')
    .description('list the paths in a webroot: kind, size, type, variants')
    .argument('<FILE>', 'webroot file')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const entries = withWebroot(file, listEntries);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
          return;
        }
        const lines = entries.map((e) =>
          e.kind === 'directory'
            ? `d ${''.padStart(10)}  ${''.padEnd(32)}  ${e.path === '/' ? '/' : `${e.path}/`}`
            : `f ${String(e.size).padStart(10)}  ${e.mime!.padEnd(32)}  ${e.path}${e.variants.length ? `  [${e.variants.map((v) => `${v.encoding} ${v.size}`).join(', ')}]` : ''}`,
        );
        process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
      } catch (err) {
        report(err);
      }
    });

  program
    .command('cat')
    .description('write the bytes stored at PATH to standard output')
    .argument('<FILE>', 'webroot file')
    .argument('<PATH>', 'site path, e.g. /index.html')
    .addOption(new Option('--encoding <coding>', 'write a precompressed variant instead').choices(['br', 'gzip']))
    .action(async (file: string, sitePath: string, opts: { encoding?: Encoding }) => {
      try {
        const w = openWebroot(file);
        try {
          const entry = fileAt(w, sitePath);
          const object = opts.encoding ? entry.variants.find((v) => v.encoding === opts.encoding)?.object : entry.object;
          if (!object) throw new MkrootError('MKROOT_PATH_NOT_FOUND', `${entry.path} has no ${opts.encoding} variant in ${file}`);
          if (object.length > 0) {
            await new Promise<void>((resolve, reject) => {
              const s = w.createReadStream(object, 0, object.length - 1);
              s.on('error', reject);
              process.stdout.on('error', reject);
              s.on('end', resolve);
              s.pipe(process.stdout, { end: false });
            });
          }
        } finally {
          w.close();
        }
      } catch (err) {
        report(err);
      }
    });

  program
    .command('info')
    .description('show what a webroot holds: format version, generator, counts, sizes, digest')
    .argument('<FILE>', 'webroot file')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const info = withWebroot(file, describeWebroot);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          return;
        }
        const rows: [string, string][] = [
          ['file', info.file],
          ['format version', String(info.formatVersion)],
          ['generator', info.generator],
          ['created', info.created],
          ['files', String(info.files)],
          ['directories', String(info.directories)],
          ['stored objects', String(info.objects)],
          ['variants', String(info.variants)],
          ['index', formatBytes(info.indexBytes)],
          ['data', formatBytes(info.dataBytes)],
          ['total', `${formatBytes(info.totalBytes)} (${info.totalBytes} bytes)`],
          ['data sha256', info.dataSha256],
        ];
        process.stdout.write(rows.map(([k, v]) => `${k.padEnd(15)} ${v}`).join('\n') + '\n');
      } catch (err) {
        report(err);
      }
    });

  program
    .command('verify')
    .description('read every byte and check it against the hashes in the index; exit 1 on any mismatch')
    .argument('<FILE>', 'webroot file')
    .action((file: string) => {
      try {
        const r = withWebroot(file, (w) => w.verify());
        if (!r.ok) {
          for (const p of r.problems) process.stderr.write(`mkroot: ${file}: ${p}\n`);
          fail(`${file}: FAILED verification (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}); rebuild it with mkroot`);
        }
        process.stdout.write(`${file}: OK (${r.objectsChecked} objects, ${formatBytes(r.bytesChecked)} checked)\n`);
      } catch (err) {
        report(err);
      }
    });

  program
    .command('diff')
    .description('show what deploying NEW in place of OLD changes: paths added (+), removed (-), changed (~)')
    .argument('<OLD>', 'webroot file being replaced')
    .argument('<NEW>', 'webroot file to deploy')
    .option('--json', 'print JSON')
    .action((oldFile: string, newFile: string, opts: { json?: boolean }) => {
      try {
        const d = withWebroot(oldFile, (a) => withWebroot(newFile, (b) => diffWebroots(a, b)));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
          return;
        }
        const lines = [
          ...d.added.map((p) => `+ ${p}`),
          ...d.removed.map((p) => `- ${p}`),
          ...d.changed.map((c) => `~ ${c.path} (${c.what.join(', ')})`),
          `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        report(err);
      }
    });
  deployCommands(program, report);
  return program;
}

export function main(argv: string[]): void {
  const program = createProgram();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    process.exit(2);
  }
  program.parseAsync(argv).catch(report);
}
