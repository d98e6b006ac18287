import fs from 'node:fs';

/**
 * Whether any of `pids` has `file` open (Linux /proc/PID/fd). Where /proc
 * cannot be read the answer is false: deleting is then still safe on POSIX,
 * since open descriptors keep reading an unlinked file.
 */
export function isOpenByAny(file: string, pids: number[]): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return false;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const s = fs.statSync(`/proc/${pid}/fd/${fd}`);
        if (s.ino === stat.ino && s.dev === stat.dev) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}
