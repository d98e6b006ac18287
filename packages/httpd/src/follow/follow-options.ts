import { isHostName } from '@webroot/format/manifest';

/** One followed channel: what `--follow host=...,manifest=...,key=...` (or a config file's follow entry) says. */
export interface FollowSpec {
  host: string;
  /** http(s) URL of the host's manifest, `<channel>/<host>.json`. */
  manifest: string;
  /** The public key: a PEM file (mkroot keygen's KEY.pub) or base64 of its 32 raw bytes. */
  key: string;
  intervalMs: number;
  /** A download that receives nothing for this long is abandoned (it resumes at the next poll). */
  timeoutMs: number;
  /** Kept releases are also served at `<12 hex>.<suffix>.<host>`; null: no previews. */
  previewSuffix: string | null;
}

export const FOLLOW_DEFAULTS = { intervalMs: 10_000, timeoutMs: 30_000, previewSuffix: 'preview', keep: 5 } as const;

export type Parsed<T> = { kind: 'ok'; value: T } | { kind: 'error'; message: string };

/** Durations like 10s, 500ms, 2m, 1.5s, or a bare number of seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  return ms > 0 && ms <= 86_400_000 ? ms : undefined;
}

const KEYS = ['host', 'manifest', 'key', 'interval', 'timeout', 'preview'] as const;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates the fields of one follow entry (strings, or numbers of seconds
 * for interval/timeout), from the CLI or a configuration file, into a
 * FollowSpec; or says which field is wrong and what to write.
 */
export function followSpecFromFields(fields: Record<string, unknown>): Parsed<FollowSpec> {
  const err = (message: string): Parsed<FollowSpec> => ({ kind: 'error', message });
  for (const k of Object.keys(fields)) {
    if (!(KEYS as readonly string[]).includes(k)) return err(`unknown field '${k}'; the fields are ${KEYS.join(', ')}`);
  }
  const str = (k: string) => (typeof fields[k] === 'string' ? (fields[k] as string) : typeof fields[k] === 'number' ? String(fields[k]) : undefined);
  const host = str('host')?.toLowerCase().replace(/\.$/, '');
  if (!host) return err("host is missing; write host=example.com");
  if (!isHostName(host)) return err(`host '${str('host')}' is not a host name; write host=example.com`);
  const manifest = str('manifest');
  if (!manifest) return err(`manifest is missing; write manifest=https://releases.example/${host}.json`);
  let url: URL;
  try {
    url = new URL(manifest);
  } catch {
    return err(`manifest '${manifest}' is not a URL; write manifest=https://releases.example/${host}.json`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return err(`manifest must be an http or https URL, not ${url.protocol}`);
  const key = str('key');
  if (!key) return err('key is missing; write key=FILE.pub (from mkroot keygen) or key=BASE64 (the line keygen prints)');
  const duration = (k: 'interval' | 'timeout', dflt: number): number | string => {
    const v = str(k);
    if (v === undefined) return dflt;
    return parseDuration(v) ?? `${k} '${v}' is not a duration; write e.g. ${k}=10s or ${k}=500ms`;
  };
  const intervalMs = duration('interval', FOLLOW_DEFAULTS.intervalMs);
  if (typeof intervalMs === 'string') return err(intervalMs);
  const timeoutMs = duration('timeout', FOLLOW_DEFAULTS.timeoutMs);
  if (typeof timeoutMs === 'string') return err(timeoutMs);
  const preview = str('preview') ?? FOLLOW_DEFAULTS.previewSuffix;
  if (preview !== 'off' && !preview.split('.').every((l) => LABEL.test(l))) return err(`preview '${preview}' must be DNS labels like preview, or off`);
  return { kind: 'ok', value: { host, manifest: url.href, key, intervalMs, timeoutMs, previewSuffix: preview === 'off' ? null : preview } };
}

/** `host=example.com,manifest=URL,key=FILE,interval=10s`: the --follow flag's form of followSpecFromFields. */
export function parseFollowSpec(text: string): Parsed<FollowSpec> {
  const fields: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { kind: 'error', message: `'${part}' is not name=value; write host=example.com,manifest=URL,key=FILE` };
    const name = part.slice(0, eq).trim();
    if (name in fields) return { kind: 'error', message: `${name} given twice` };
    fields[name] = part.slice(eq + 1).trim();
  }
  return followSpecFromFields(fields);
}

/** `--status PORT` or `--status HOST:PORT` (`[::1]:PORT`): loopback unless a host is given. */
export function parseListenAddress(text: string): Parsed<{ host: string; port: number }> {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) return { kind: 'error', message: `'${text}' is not [HOST:]PORT; write 9100 (loopback) or 10.0.0.5:9100` };
  return { kind: 'ok', value: { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port } };
}
