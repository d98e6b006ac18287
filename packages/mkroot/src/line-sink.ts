import type { Writable } from 'node:stream';

const BATCH = 64 * 1024;

/**
 * Writes lines to a stream in batches, waiting for 'drain' when the stream is
 * full: `mkroot ls` of a million entries into a pipe stays at one batch of
 * memory instead of queueing every line (stdout to a pipe is asynchronous).
 */
export class LineSink {
  private batch = '';
  private failure: Error | undefined;

  constructor(private readonly out: Writable) {
    out.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Queues `text` (newline included by the caller); resolves once it may take more. */
  async write(text: string): Promise<void> {
    this.batch += text;
    if (this.batch.length >= BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.batch.length === 0) return;
    const chunk = this.batch;
    this.batch = '';
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          this.out.off('drain', done);
          this.out.off('error', done);
          if (err) reject(err);
          else resolve();
        };
        this.out.on('drain', done);
        this.out.on('error', done);
      });
    }
  }
}

/**
 * Streams a JSON array of `items`, formatted as JSON.stringify(array, null, 2)
 * would format it, indented by `indent` spaces (for an array inside an object).
 */
export async function writeJsonArray<T>(sink: LineSink, items: Iterable<T>, indent = 0): Promise<void> {
  const pad = ' '.repeat(indent);
  let first = true;
  for (const item of items) {
    const text = JSON.stringify(item, null, 2).replace(/\n/g, `\n${pad}  `);
    await sink.write(`${first ? '[\n' : ',\n'}${pad}  ${text}`);
    first = false;
  }
  await sink.write(first ? '[]' : `\n${pad}]`);
}
