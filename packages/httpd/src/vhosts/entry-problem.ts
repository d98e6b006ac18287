import fs from 'node:fs';
import { errorFields } from '../log.js';

/** Why an entry of the vhosts directory cannot be loaded, for the log and the unavailable marker. */
export interface EntryProblem {
  /** One line for people: names the entry and what is wrong. */
  readonly reason: string;
  /** Log fields: error, code, and for a dangling link its target. */
  readonly fields: Record<string, unknown>;
  /** Identifies this problem, so the same one is reported once. */
  readonly key: string;
}

/**
 * Explains a failed stat() of an entry. A dangling symlink gives ENOENT from
 * stat, which says nothing useful ("ENOENT: no such file or directory, stat
 * 'vhosts/example.com'"): name the missing target instead, as readlink gives it.
 */
export function statProblem(entryPath: string, err: unknown): EntryProblem {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  let target: string | undefined;
  try {
    if (fs.lstatSync(entryPath).isSymbolicLink()) target = fs.readlinkSync(entryPath);
  } catch {
    // the entry itself went away meanwhile: report the stat error as it is
  }
  if (target !== undefined && (code === 'ENOENT' || code === 'ENOTDIR')) {
    const reason = `${entryPath} is a symlink to ${target}, which does not exist`;
    return { reason, fields: { error: reason, code, target }, key: `dangling:${target}` };
  }
  if (target !== undefined && code === 'ELOOP') {
    const reason = `${entryPath} is a symlink to ${target}, which loops back on itself`;
    return { reason, fields: { error: reason, code, target }, key: `loop:${target}` };
  }
  const fields = errorFields(err);
  return { reason: `${entryPath}: ${fields.error}`, fields, key: `stat:${code}` };
}

/** Explains a failed open of the webroot an entry names (corrupt, truncated, unreadable, ...). */
export function openProblem(entryPath: string, err: unknown, identityKey: string): EntryProblem {
  const fields = errorFields(err);
  return { reason: fields.error.startsWith(entryPath) ? fields.error : `${entryPath}: ${fields.error}`, fields, key: identityKey };
}
