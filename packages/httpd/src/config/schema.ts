import { z } from 'zod';
import { parseSize } from '../config.js';
import { IO_MODES } from '../io/executors.js';
import { LOG_LEVELS } from '../log.js';
import { parseAddress } from './address.js';

/**
 * The shape of the TOML configuration file (README.md, "Configuration file"),
 * before defaults and filesystem checks. Keys are snake_case as in TOML
 * convention; every object is strict so an unknown key is a problem, not
 * silently ignored.
 */

const typeName = (v: unknown) => (v === undefined ? 'nothing (the key is missing)' : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'a table' : `a ${typeof v}`);

function custom<T>(expected: string, parse: (v: unknown) => T | undefined) {
  return z.unknown().transform((v, ctx) => {
    const out = parse(v);
    if (out === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${expected}, got ${typeName(v)}${typeof v === 'string' || typeof v === 'number' ? ` ${JSON.stringify(v)}` : ''}` });
      return z.NEVER;
    }
    return out;
  });
}

const text = (expected = 'a string') => custom(expected, (v) => (typeof v === 'string' ? v : undefined));
const bool = custom('true or false', (v) => (typeof v === 'boolean' ? v : undefined));
const integer = (min: number, max: number) =>
  custom(`a whole number from ${min} to ${max}`, (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined));
const oneOf = <T extends string>(choices: readonly T[]) =>
  custom(`one of ${choices.map((c) => `"${c}"`).join(', ')}`, (v) => (typeof v === 'string' && (choices as readonly string[]).includes(v) ? (v as T) : undefined));

/** A size in bytes: a whole number, or a string like "512K", "64M", "1G". */
const size = custom('a size like 0, 65536, "512K", "64M" or "1G"', (v) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  return typeof v === 'string' ? parseSize(v) : undefined;
});

/** A duration: seconds as a number (0.5), or a string "500ms", "5s", "2m"; returned in milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof v === 'number' && Number.isFinite(v)) ms = v * 1000;
  else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v.trim());
    if (m) ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  }
  return ms !== undefined && ms > 0 && ms <= 86_400_000 ? Math.round(ms) : undefined;
}
const duration = custom('a duration greater than 0 and at most a day: seconds (5, 0.5) or a string like "500ms", "5s", "2m"', parseDuration);

const headerValue = custom('a string without line breaks', (v) => (typeof v === 'string' && !/[\r\n]/.test(v) ? v : undefined));

const address = (what: string) =>
  custom(`${what} as "HOST:PORT" (like "127.0.0.1:8080", "[::1]:8080" or "*:8080")`, (v) => (typeof v === 'string' ? parseAddress(v) : undefined));

const stringList = custom('an array of strings', (v) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined));

const tableArray = <T extends z.ZodTypeAny>(what: string, item: T) =>
  z.array(item, { invalid_type_error: `expected an array of tables (write [[${what}]] blocks)` });

export const listenSchema = z
  .object({
    address: address('a listening address'),
    /** HTTPS on this address, with the certificates of [tls] certs. */
    tls: bool.optional(),
  })
  .strict();

export const hostSchema = z
  .object({
    name: text('a host name'),
    aliases: stringList.optional(),
    cache_control: headerValue.optional(),
    autoindex: bool.optional(),
    access_log: text('a file path, or "-" for standard output').optional(),
  })
  .strict();

export const mountSchema = z
  .object({
    host: text('a host name, or "__default__"'),
    prefix: text('a path prefix like "/docs/"'),
    webroot: text('the path of a webroot file (or a symlink to one)'),
  })
  .strict();

/** [[route]]: a dynamic route (README "Dynamic routes"); checked further in config/route-keys.ts. */
export const routeSchema = z
  .object({
    host: text('a host name, or "*" for every host').optional(),
    prefix: text('a path prefix like "/api/"'),
    module: text('the path of an ES module (.mjs or .js)'),
    body_limit: size.optional(),
    body_timeout: duration.optional(),
    timeout: duration.optional(),
  })
  .strict();

/** [tls]: what --certs, --redirect-http and --hsts set; the TLS listeners are [[listen]] entries with tls = true. */
export const tlsSchema = z
  .object({
    certs: text('the path of the certificates directory (<host>.crt and <host>.key pairs)').optional(),
    redirect_http: bool.optional(),
    hsts: integer(0, 2 ** 31 - 1).optional(),
  })
  .strict();

/** [acme]: what the --acme-* flags set (acme/acme-options.ts checks them as a whole). */
export const acmeSchema = z
  .object({
    directory: text("the CA's directory URL").optional(),
    email: text('a contact email address').optional(),
    agree_tos: bool.optional(),
    state: text('the path of the ACME state directory').optional(),
    retry: duration.optional(),
  })
  .strict();

export const fileSchema = z
  .object({
    vhosts: text('the path of the vhosts directory').optional(),
    io: oneOf(IO_MODES).optional(),
    workers: integer(0, 256).optional(),
    cache_size: size.optional(),
    cache_control: headerValue.optional(),
    autoindex: bool.optional(),
    log_level: oneOf(LOG_LEVELS).optional(),
    rescan_interval: duration.optional(),
    watch: bool.optional(),
    admin: address('the admin listener address').optional(),
    listen: tableArray('listen', listenSchema).optional(),
    tls: tlsSchema.optional(),
    acme: acmeSchema.optional(),
    timeouts: z
      .object({ header: duration.optional(), keepalive: duration.optional(), send: duration.optional(), drain: duration.optional() })
      .strict()
      .optional(),
    access_log: z
      .object({ path: text('a file path, or "-" for standard output').optional(), format: oneOf(['combined', 'json'] as const).optional() })
      .strict()
      .optional(),
    host: tableArray('host', hostSchema).optional(),
    mount: tableArray('mount', mountSchema).optional(),
    route: tableArray('route', routeSchema).optional(),
    watchdog: duration.optional(),
  })
  .strict();

export type FileConfig = z.infer<typeof fileSchema>;

/** The keys each table accepts, for "did you mean". */
export function knownKeys(path: readonly (string | number)[]): string[] {
  const named = path.filter((p) => typeof p === 'string');
  const last = named[named.length - 1];
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (last === 'listen') return Object.keys(listenSchema.shape);
  if (last === 'host') return Object.keys(hostSchema.shape);
  if (last === 'mount') return Object.keys(mountSchema.shape);
  if (last === 'route') return Object.keys(routeSchema.shape);
  if (last === 'timeouts') return ['header', 'keepalive', 'send', 'drain'];
  if (last === 'access_log') return ['path', 'format'];
  if (last === 'tls' && path.length === 1) return Object.keys(tlsSchema.shape);
  if (last === 'acme') return Object.keys(acmeSchema.shape);
  return [];
}
