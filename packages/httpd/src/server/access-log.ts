import type { RequestHead } from '../http/parse-request.js';
import type { Site } from '../vhosts/site.js';
import type { Peer } from './context.js';
import { LineMemo } from './line-memo.js';
import { LogFile } from './log-file.js';
import { combinedBound, hostOf, jsonBound, putCombined, putJson } from './log-formats.js';

export { escapeLogValue } from './log-encode.js';
export { combinedLine, jsonLine, type ResponseRecord } from './log-formats.js';

export type AccessLogFormat = 'combined' | 'json';

export interface AccessLogOptions {
  /** The main log: a file path or '-' for standard output; undefined for none. */
  path: string | undefined;
  format: AccessLogFormat;
  /** Per-host files: every name (host and aliases) whose requests go to `path` instead of the main log. */
  hosts: { names: string[]; path: string }[];
}

/**
 * The access logs of one worker: the main one and optional per-host files.
 * Lines are written into LogFile's buffers and handed to the file without
 * blocking a response on disk IO; `reopen()` (SIGUSR1) starts new files at the same paths, the logrotate way.
 */
export class AccessLogs {
  private readonly main: LogFile | undefined;
  private readonly byHost = new Map<string, LogFile>();
  private readonly files: LogFile[] = [];
  readonly format: AccessLogFormat;
  /** The last line, copied for the next response to an identical request (line-memo.ts). */
  private readonly memo: LineMemo;

  constructor(
    readonly options: AccessLogOptions,
    onError: (path: string, err: unknown) => void,
  ) {
    this.format = options.format;
    this.memo = new LineMemo(options.format);
    const open = new Map<string, LogFile>();
    const file = (p: string) => {
      let f = open.get(p);
      if (f === undefined) {
        open.set(p, (f = new LogFile(p, onError)));
        this.files.push(f);
      }
      return f;
    };
    if (options.path !== undefined) this.main = file(options.path);
    for (const h of options.hosts) for (const name of h.names) this.byHost.set(name, file(h.path));
  }

  get enabled(): boolean {
    return this.files.length > 0;
  }

  /** `nowMs`: Date.now() as the caller read it for this turn of the event loop; 0 or absent: read here. */
  write(socket: Peer, head: RequestHead | null, status: number, bytes: number, site: Site | undefined, durationMs: number, nowMs = 0): void {
    let out = this.main;
    if (this.byHost.size > 0 && head !== null) {
      const host = hostOf(head);
      out = (host !== null && this.byHost.get(host)) || this.main;
    }
    if (out === undefined) return;
    const remote = socket.remoteAddress;
    if (head !== null) return this.memo.write(out, remote, head, status, bytes, site, durationMs, nowMs !== 0 ? nowMs : Date.now());
    // No request head (a connection-level error): straight into the file's buffer, room for its largest form first.
    if (this.format === 'json') {
      const b = out.room(jsonBound(remote, head, site));
      out.commit(putJson(b, out.pos, remote, head, status, bytes, site, durationMs, undefined, nowMs));
    } else {
      const b = out.room(combinedBound(remote, head));
      out.commit(putCombined(b, out.pos, remote, head, status, bytes, undefined, nowMs));
    }
  }

  reopen(): void {
    for (const f of this.files) f.reopen();
  }

  close(): Promise<void> {
    return Promise.all(this.files.map((f) => f.close())).then(() => undefined);
  }
}
