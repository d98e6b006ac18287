import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Temporary files of writers still running, so a signal handler can remove them. */
const live = new Set<string>();

/** A fresh temporary path next to `dest` (same directory, so rename is atomic). */
export function temporaryPathFor(dest: string, suffix: string): string {
  const dir = path.dirname(dest);
  const rand = crypto.randomBytes(6).toString('hex');
  const p = path.join(dir, `.${path.basename(dest)}.${process.pid}.${rand}.${suffix}`);
  live.add(p);
  return p;
}

export function forgetTemporary(p: string): void {
  live.delete(p);
}

export function removeTemporary(p: string): void {
  live.delete(p);
  try {
    fs.unlinkSync(p);
  } catch {
    // already gone
  }
}

/** Removes every temporary file of every writer still running (for SIGINT/SIGTERM handlers). */
export function removeAllTemporaryFiles(): void {
  for (const p of [...live]) removeTemporary(p);
}
