import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `data` to `file` so a reader sees the old content or the new, never
 * a part: a temporary name in the same directory (mode 0600), fsync, rename,
 * then fsync of the directory so the rename survives a crash.
 */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** The layout of --acme-state: account.key, and certs/<host>.crt + certs/<host>.key (all 0600, directories 0700). */
export class StateDir {
  constructor(readonly dir: string) {}

  get accountKeyFile(): string {
    return path.join(this.dir, 'account.key');
  }

  certFile(host: string): string {
    return path.join(this.dir, 'certs', `${host}.crt`);
  }

  keyFile(host: string): string {
    return path.join(this.dir, 'certs', `${host}.key`);
  }

  /** Creates the directories and checks that files can be written there; throws the errno error otherwise. */
  prepare(): void {
    fs.mkdirSync(path.join(this.dir, 'certs'), { recursive: true, mode: 0o700 });
    const probe = path.join(this.dir, 'certs', `.probe.${process.pid}`);
    fs.writeFileSync(probe, '', { mode: 0o600 });
    fs.rmSync(probe);
  }

  /** The account key, made (P-256) and stored on first use. */
  accountKey(make: () => Buffer): Buffer {
    try {
      return fs.readFileSync(this.accountKeyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = make();
    writeFileAtomic(this.accountKeyFile, key);
    return key;
  }

  /** Hosts with a stored certificate (the .crt files of certs/). */
  storedHosts(): string[] {
    try {
      return fs
        .readdirSync(path.join(this.dir, 'certs'))
        .filter((f) => f.endsWith('.crt') && !f.startsWith('.'))
        .map((f) => f.slice(0, -'.crt'.length));
    } catch {
      return [];
    }
  }

  read(host: string): { cert: Buffer; key: Buffer } | undefined {
    try {
      return { cert: fs.readFileSync(this.certFile(host)), key: fs.readFileSync(this.keyFile(host)) };
    } catch {
      return undefined;
    }
  }

  /** The key first: a crash between the two leaves a key that does not match the old certificate, which start-up refuses and orders again. */
  write(host: string, cert: string, key: Buffer): void {
    writeFileAtomic(this.keyFile(host), key);
    writeFileAtomic(this.certFile(host), cert);
  }
}

/**
 * With --user, the state directory (made by root at start-up) goes to that
 * user before the primary drops to it: the renewals are written by the user.
 */
export function giveStateTo(dir: string, uid: number, gid: number): void {
  const walk = (p: string): void => {
    fs.lchownSync(p, uid, gid);
    if (fs.lstatSync(p).isDirectory()) for (const f of fs.readdirSync(p)) walk(path.join(p, f));
  };
  walk(dir);
}
