import fs from 'node:fs';
import path from 'node:path';
import { MkrootError } from './errors.js';

export interface WalkOptions {
  includeDotfiles: boolean;
  skipEscapingLinks: boolean;
  /** Called with a message for each thing skipped (special files, escaping links when skipped). */
  warn: (message: string) => void;
  /** Real path of the output file: when it lies inside the tree it is skipped with a warning, never packed into itself. */
  outputReal?: string;
}

export interface FoundFile {
  kind: 'file';
  /** Site path: '/a/b.html'. */
  sitePath: string;
  /** Where to read it (the link itself when it is a followed symlink). */
  absPath: string;
  size: number;
  mtimeMs: number;
}

export interface FoundDirectory {
  kind: 'directory';
  sitePath: string;
  mtimeMs: number;
}

export type Found = FoundFile | FoundDirectory;

/** A file as `listEntries` gives it: without the stat (a reader learns size and mtime from its open descriptor). */
export interface ListedFile {
  kind: 'file';
  sitePath: string;
  absPath: string;
}

export type Listed = ListedFile | FoundDirectory;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(raw: Buffer, dirAbs: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    const shown = path.join(dirAbs, raw.toString('latin1'));
    throw new MkrootError(
      'MKROOT_BAD_FILE_NAME',
      `${JSON.stringify(shown)}: file name is not valid UTF-8 (bytes ${raw.toString('hex')}); rename it so a URL can name it`,
    );
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function statOrThrow(abs: string, what: 'file' | 'directory'): fs.Stats {
  try {
    return fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MkrootError(
      what === 'file' ? 'MKROOT_UNREADABLE_FILE' : 'MKROOT_UNREADABLE_DIRECTORY',
      `${abs}: cannot stat (${code}); fix its permissions or remove it`,
      { cause: err },
    );
  }
}

/** True when the file at `abs` (real path `real` if it is a followed link) is the output file. */
function isOutput(abs: string, real: string, outputReal: string | undefined): boolean {
  if (outputReal === undefined) return false;
  if (real !== abs) return real === outputReal;
  // Resolve only the one candidate name: realpath of every file would cost a syscall each.
  if (path.basename(abs) !== path.basename(outputReal)) return false;
  try {
    return fs.realpathSync(abs) === outputReal;
  } catch {
    return false;
  }
}

/**
 * Lists what a source directory holds, in a stable order (sorted by name at
 * each level), applying the policy on dotfiles, links and special files.
 * Nothing is read here but directory listings and stats.
 */
export function walkSource(srcDir: string, options: WalkOptions): Found[] {
  return [...walkEntries(srcDir, options)];
}

/**
 * walkSource one entry at a time, holding only the listings of the directories
 * being descended, not an object per file of the whole tree.
 */
export function walkEntries(srcDir: string, options: WalkOptions): Generator<Found, void, undefined> {
  return walkTree(srcDir, options, true) as Generator<Found, void, undefined>;
}

/**
 * walkEntries without the stat of each regular file (links and directories are
 * still stat()ed, to know what they are): for a second pass, where the file is
 * opened and fstat()ed anyway.
 */
export function listEntries(srcDir: string, options: WalkOptions): Generator<Listed, void, undefined> {
  return walkTree(srcDir, options, false);
}

function* walkTree(srcDir: string, options: WalkOptions, statFiles: boolean): Generator<Found | Listed, void, undefined> {
  let rootStat: fs.Stats;
  try {
    rootStat = fs.statSync(srcDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new MkrootError('MKROOT_SOURCE_NOT_FOUND', `${srcDir}: no such directory; give the directory holding the site`, { cause: err });
    }
    throw new MkrootError('MKROOT_UNREADABLE_DIRECTORY', `${srcDir}: cannot stat (${code}); check its permissions`, { cause: err });
  }
  if (!rootStat.isDirectory()) {
    throw new MkrootError('MKROOT_SOURCE_NOT_A_DIRECTORY', `${srcDir}: not a directory; give the directory holding the site, not a file`);
  }
  const root = fs.realpathSync(srcDir);
  yield { kind: 'directory', sitePath: '/', mtimeMs: rootStat.mtimeMs };

  // `chain` holds the real paths of the directories being descended, to catch link loops.
  function* visit(dirAbs: string, sitePrefix: string, chain: Set<string>): Generator<Found | Listed, void, undefined> {
    let dirents: fs.Dirent<Buffer>[];
    try {
      dirents = fs.readdirSync(dirAbs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new MkrootError('MKROOT_UNREADABLE_DIRECTORY', `${dirAbs}: cannot list directory (${code}); fix its permissions or remove it`, { cause: err });
    }
    const named = dirents.map((d) => ({ d, name: decodeName(d.name, dirAbs) }));
    const dirPrefix = dirAbs === '.' ? '' : dirAbs.endsWith('/') ? dirAbs : `${dirAbs}/`;
    named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { d, name } of named) {
      // path.join(dirAbs, name) without its normalising pass per name (dirAbs is normalised, a name has no '/').
      const abs = dirPrefix + name;
      const sitePath = `${sitePrefix}/${name}`;
      if (name.startsWith('.') && !options.includeDotfiles && !(sitePrefix === '' && name === '.well-known')) continue;

      let stat: fs.Stats;
      let real = abs;
      if (!statFiles && d.isFile()) {
        if (!isOutput(abs, real, options.outputReal)) yield { kind: 'file', sitePath, absPath: abs };
        continue;
      }
      if (d.isSymbolicLink()) {
        try {
          real = fs.realpathSync(abs);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ELOOP') throw new MkrootError('MKROOT_LINK_LOOP', `${abs}: symbolic link loop; fix or remove the link`, { cause: err });
          throw new MkrootError('MKROOT_DANGLING_LINK', `${abs}: symbolic link points to nothing (${fs.readlinkSync(abs)}); fix or remove it`, { cause: err });
        }
        if (!isInside(root, real)) {
          const msg = `${abs}: symbolic link escapes the source tree (to ${real})`;
          if (options.skipEscapingLinks) {
            options.warn(`skipped ${msg}`);
            continue;
          }
          throw new MkrootError('MKROOT_ESCAPING_LINK', `${msg}; copy the target into the tree, or pass --skip-escaping-links`);
        }
        stat = statOrThrow(abs, 'file');
      } else if (d.isDirectory() || d.isFile()) {
        stat = statOrThrow(abs, d.isDirectory() ? 'directory' : 'file');
      } else {
        options.warn(`skipped ${abs}: not a regular file or directory (socket, FIFO or device)`);
        continue;
      }

      if (stat.isDirectory()) {
        const realDir = d.isSymbolicLink() ? real : fs.realpathSync(abs);
        if (chain.has(realDir)) throw new MkrootError('MKROOT_LINK_LOOP', `${abs}: symbolic link leads back to a directory it is inside; remove the link`);
        yield { kind: 'directory', sitePath, mtimeMs: stat.mtimeMs };
        chain.add(realDir);
        yield* visit(abs, sitePath, chain);
        chain.delete(realDir);
      } else if (stat.isFile() && isOutput(abs, real, options.outputReal)) {
        options.warn(`skipped ${abs}: it is the output file (OUT is inside SRC_DIR); an earlier build is never packed into the next`);
      } else if (stat.isFile()) {
        yield { kind: 'file', sitePath, absPath: abs, size: stat.size, mtimeMs: stat.mtimeMs };
      } else {
        options.warn(`skipped ${abs}: link to something that is not a regular file or directory`);
      }
    }
  }
  yield* visit(path.normalize(srcDir), '', new Set([root]));
}
