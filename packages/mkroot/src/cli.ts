import { Command, InvalidArgumentError, Option } from 'commander';
import { TRAILING_SLASH_POLICIES, WebrootError, openWebroot, type Encoding, type TrailingSlashPolicy, type Webroot } from '@webroot/format';
import { removeAllTemporaryFiles } from '@webroot/format/writer';
import { DEFAULT_COMPRESSION } from './compress.js';
import { MkrootError } from './errors.js';
import { formatBytes } from './format-units.js';
import fs from 'node:fs';
import { exitQuietlyOnBrokenPipe, isBrokenPipe } from './broken-pipe.js';
import { escapeControls } from './escape-text.js';
import { suggestCommand } from './suggest-command.js';
import { describeWebroot, diffWebrootRules, diffWebroots, fileAt, listEntries, withWebroot, type DiffItem } from './inspect.js';
import { LineSink, writeJsonArray } from './line-sink.js';
import { parseMimeOverrides } from './mime.js';
import { formatRuleTests, formatRules, listRules, testRules } from './rules/inspect-rules.js';
import { packDirectory, type PackProgress } from './pack.js';
import { VERSION } from './version.js';
import { deployCommands } from './deploy-cli.js';

function fail(message: string): never {
  process.stderr.write(`mkroot: ${message}\n`);
  process.exit(1);
}

/** Expected failures print one line; anything else is a bug and says so. */
function report(err: unknown): never {
  if (isBrokenPipe(err)) process.exit(0); // the reader went away (| head): nothing left to say
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
    build: {
      ...(opts.cleanUrls === undefined ? {} : { cleanUrls: Boolean(opts.cleanUrls) }),
      ...(opts.trailingSlash === undefined ? {} : { trailingSlash: opts.trailingSlash as TrailingSlashPolicy }),
    },
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

/**
 * Prints a diff grouped as before (added, then removed, then changed), with one
 * streamed merge of the two indexes per group instead of the whole diff in memory.
 */
async function printDiff(a: Webroot, b: Webroot, json: boolean): Promise<void> {
  const sink = new LineSink(process.stdout);
  const rules = diffWebrootRules(a, b);
  const only = <K extends DiffItem['kind']>(kind: K) =>
    (function* () {
      for (const d of diffWebroots(a, b)) if (d.kind === kind) yield d as Extract<DiffItem, { kind: K }>;
    })();
  if (json) {
    await sink.write('{\n  "added": ');
    await writeJsonArray(sink, (function* () { for (const d of only('added')) yield d.path; })(), 2);
    await sink.write(',\n  "removed": ');
    await writeJsonArray(sink, (function* () { for (const d of only('removed')) yield d.path; })(), 2);
    await sink.write(',\n  "changed": ');
    await writeJsonArray(sink, (function* () { for (const d of only('changed')) yield { path: d.path, what: d.what }; })(), 2);
    await sink.write(`,\n  "rules": ${JSON.stringify(rules, null, 2).replace(/\n/g, '\n  ')}\n}\n`);
  } else {
    const counts = { added: 0, removed: 0, changed: 0 };
    for (const d of only('added')) {
      counts.added++;
      await sink.write(`+ ${escapeControls(d.path)}\n`);
    }
    for (const d of only('removed')) {
      counts.removed++;
      await sink.write(`- ${escapeControls(d.path)}\n`);
    }
    for (const d of only('changed')) {
      counts.changed++;
      await sink.write(`~ ${escapeControls(d.path)} (${d.what.join(', ')})\n`);
    }
    for (const r of rules.added) await sink.write(`+ ${escapeControls(r)}\n`);
    for (const r of rules.removed) await sink.write(`- ${escapeControls(r)}\n`);
    for (const r of rules.changed) await sink.write(`~ ${escapeControls(r)}\n`);
    await sink.write(`${counts.added} added, ${counts.removed} removed, ${counts.changed} changed\n`);
    const ruleChanges = rules.added.length + rules.removed.length + rules.changed.length;
    if (ruleChanges > 0) await sink.write(`rules: ${rules.added.length} added, ${rules.removed.length} removed, ${rules.changed.length} changed\n`);
  }
  await sink.flush();
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
    .option('--clean-urls', 'serve /about from /about.html and redirect (308) /about.html to /about (default: [build] clean_urls of SRC_DIR/webroot.toml, else off)')
    .option('--no-clean-urls', 'turn clean URLs off even when webroot.toml turns them on')
    .addOption(new Option('--trailing-slash <policy>', 'canonical form of directory paths: always (/dir -> /dir/), never (/dir/ -> /dir), ignore (default: webroot.toml, else always)').choices([...TRAILING_SLASH_POLICIES]))
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
    .description('list the paths in a webroot, in path order: kind, size, type, variants (streamed: fine for millions)')
    .argument('<FILE>', 'webroot file')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      try {
        const w = openWebroot(file);
        try {
          const sink = new LineSink(process.stdout);
          if (opts.json) {
            await writeJsonArray(sink, listEntries(w));
            await sink.write('\n');
          } else {
            for (const e of listEntries(w)) {
              await sink.write(
                e.kind === 'directory'
                  ? `d ${''.padStart(10)}  ${''.padEnd(32)}  ${e.path === '/' ? '/' : `${escapeControls(e.path)}/`}\n`
                  : `f ${String(e.size).padStart(10)}  ${e.mime!.padEnd(32)}  ${escapeControls(e.path)}${e.variants.length ? `  [${e.variants.map((v) => `${v.encoding} ${v.size}`).join(', ')}]` : ''}\n`,
              );
            }
          }
          await sink.flush();
        } finally {
          w.close();
        }
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
          ['site rules', `${info.redirectRules} redirect rules, ${info.headerBlocks} header blocks`],
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
    .description('show what deploying NEW in place of OLD changes: paths added (+), removed (-), changed (~) (streamed: fine for millions)')
    .argument('<OLD>', 'webroot file being replaced')
    .argument('<NEW>', 'webroot file to deploy')
    .option('--json', 'print JSON')
    .action(async (oldFile: string, newFile: string, opts: { json?: boolean }) => {
      try {
        const a = openWebroot(oldFile);
        try {
          const b = openWebroot(newFile);
          try {
            await printDiff(a, b, Boolean(opts.json));
          } finally {
            b.close();
          }
        } finally {
          a.close();
        }
      } catch (err) {
        report(err);
      }
    });
  program
    .command('rules')
    .description('print the site rules compiled into a webroot, in order, with their source lines')
    .argument('<FILE>', 'webroot file')
    .option('--json', 'print JSON')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const listed = withWebroot(file, listRules);
        process.stdout.write(opts.json ? `${JSON.stringify(listed, null, 2)}\n` : formatRules(listed));
      } catch (err) {
        report(err);
      }
    });

  program
    .command('test-rules')
    .description('print what httpd would answer for each URL: status, Location, the rule or file that decided, the _headers fields')
    .argument('<FILE>', 'webroot file')
    .argument('<URL...>', '/path?query or http://host/path (the host matters for domain-level rules)')
    .option('--autoindex', 'as httpd --autoindex does')
    .option('--json', 'print JSON')
    .action((file: string, urls: string[], opts: { json?: boolean; autoindex?: boolean }) => {
      try {
        const tests = withWebroot(file, (w) => testRules(w, urls, { autoindex: Boolean(opts.autoindex) }));
        process.stdout.write(opts.json ? `${JSON.stringify(tests, null, 2)}\n` : formatRuleTests(tests));
      } catch (err) {
        report(err);
      }
    });

  deployCommands(program, report);
  return program;
}

/**
 * The classic form takes any first word for SRC_DIR, so a mistyped command
 * (`mkroot biuld site out`, `mkroot lss FILE`) used to give a misleading error
 * about arguments or directories. A first word that names no command and no
 * existing path, but is close to a command, is reported as the typo it is.
 */
function mistypedCommand(program: Command, args: string[]): string | undefined {
  const word = args[0];
  if (word === undefined || word.startsWith('-') || word.includes('/')) return undefined;
  const names = [...program.commands.map((c) => c.name()), 'help']; // commander adds `help` itself
  if (names.includes(word) || fs.existsSync(word)) return undefined;
  const nearest = suggestCommand(word, names);
  return nearest && `unknown command '${word}' (and no directory of that name); did you mean 'mkroot ${nearest}'? (run mkroot --help for usage)`;
}

export function main(argv: string[]): void {
  exitQuietlyOnBrokenPipe();
  const program = createProgram();
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    process.exit(2);
  }
  const typo = mistypedCommand(program, argv.slice(2));
  if (typo) fail(typo);
  program.parseAsync(argv).catch(report);
}
