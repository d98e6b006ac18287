import { execFileSync } from 'node:child_process';

export class PrivilegeError extends Error {
  readonly code = 'HTTPD_PRIVILEGES';
}

/**
 * Drops the primary to `user` (and `group`, else the user's primary group) once its
 * sockets are bound: the supplementary groups become the user's (initgroups), then
 * the group, then the user, in the only order that works. Workers forked afterwards
 * inherit the ids and never run as root. Already running as that user (a new
 * primary started by an upgrade) is not an error: there is nothing to drop.
 */
export function dropPrivileges(user: string, group: string | undefined): { uid: number; gid: number } {
  const target = resolveUser(user, group);
  if (process.getuid!() === target.uid && process.getgid!() === target.gid) return target;
  if (process.getuid!() !== 0) {
    throw new PrivilegeError(`--user ${user}: httpd runs as uid ${process.getuid!()}, not root, so it cannot switch users; start it as root or drop --user`);
  }
  try {
    (process as unknown as { initgroups(user: string, extraGroup: number): void }).initgroups(user, target.gid);
    process.setgid!(target.gid);
    process.setuid!(target.uid);
  } catch (err) {
    throw new PrivilegeError(`cannot switch to user ${user} (${(err as Error).message})`);
  }
  return target;
}

/** Uid and gid of a user name or number, from the system's user database (getent, which reads NSS as setuid's callers expect). */
export function resolveUser(user: string, group: string | undefined): { uid: number; gid: number } {
  const pw = getent('passwd', user);
  if (!pw) throw new PrivilegeError(`--user ${user}: no such user; create it (useradd --system ${user}) or name an existing one`);
  const [, , uid, gid] = pw.split(':');
  let groupId = Number(gid);
  if (group !== undefined) {
    const gr = getent('group', group);
    if (!gr) throw new PrivilegeError(`--group ${group}: no such group; name an existing one`);
    groupId = Number(gr.split(':')[2]);
  }
  return { uid: Number(uid), gid: groupId };
}

function getent(db: 'passwd' | 'group', key: string): string | undefined {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(key)) return undefined;
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).split('\n')[0];
  } catch {
    return undefined;
  }
}
