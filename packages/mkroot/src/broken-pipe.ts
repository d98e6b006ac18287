/**
 * A reader that stops early (`mkroot ls FILE | head -1`) closes the pipe; the
 * next write fails with EPIPE. Like other Unix tools, that ends the command
 * quietly, with status 0 as the issue asks, not with a stack trace.
 */
export function isBrokenPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

/** Installs the quiet exit on a closed standard output (and error). */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err) => {
      if (isBrokenPipe(err)) process.exit(0);
      throw err;
    });
  }
}
