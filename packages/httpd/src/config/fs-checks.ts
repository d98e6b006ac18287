import fs from 'node:fs';

/** Why `dir` cannot serve as a directory we list (undefined: it can). */
export function directoryProblem(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return 'not a directory';
    fs.readdirSync(dir);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such directory' : `cannot read (${code}); check its permissions`;
  }
}

/** Why `file` cannot be a webroot file (undefined: it can be opened). */
export function webrootProblem(file: string): string | undefined {
  try {
    return fs.statSync(file).isFile() ? undefined : 'not a file; give a webroot file made by mkroot, or a symlink to one';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file (a dangling symlink counts); give a webroot file made by mkroot, or a symlink to one' : `cannot read (${code}); check its permissions`;
  }
}
