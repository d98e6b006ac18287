/**
 * The site rules a webroot carries (format version 2): the compiled form of
 * `_redirects`, `_headers` and the build options. Plain data, stored in the
 * tables FORMAT.md section 1.2 describes; `compileRules` turns it into a matcher.
 */

/** Redirect statuses: `Location` is the rule's target. */
export const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;
/** Every status a `_redirects` rule may have: redirects, 200 (a rewrite), and error statuses with an optional body. */
export const RULE_STATUSES = [200, ...REDIRECT_STATUSES, 404, 410, 451] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];

/** How directory-like and clean paths are made canonical. */
export const TRAILING_SLASH_POLICIES = ['always', 'never', 'ignore'] as const;
export type TrailingSlashPolicy = (typeof TRAILING_SLASH_POLICIES)[number];

/** A query condition of a redirect rule: `key=:name` binds the value, `key=value` requires it. */
export interface QueryCondition {
  readonly key: string;
  /** `:name` (binds) or a literal value that must be equal. */
  readonly value: string;
}

export interface RedirectRule {
  /** 1-based line in `_redirects`. */
  readonly line: number;
  /** The line as written (trimmed), for `mkroot rules` and `mkroot test-rules`. */
  readonly source: string;
  /** Lower-case host of a domain-level rule (`https://host/path`); undefined: any host. */
  readonly host?: string | undefined;
  /** Path pattern: `/a/:name/*`. */
  readonly from: string;
  readonly query: readonly QueryCondition[];
  /** A path or an absolute URL, with `:name` and `:splat`. */
  readonly to: string;
  readonly status: RuleStatus;
  /** `!`: applies even when the path names a file. */
  readonly force: boolean;
}

/** One line of a `_headers` block: set a field, or (Cloudflare's `! Name`) remove one an earlier block set. */
export type HeaderOp =
  | { readonly op: 'set'; readonly line: number; readonly name: string; readonly value: string }
  | { readonly op: 'remove'; readonly line: number; readonly name: string };

export interface HeaderBlock {
  /** 1-based line of the path line in `_headers`. */
  readonly line: number;
  readonly host?: string | undefined;
  /** Path pattern, as for redirects. */
  readonly pattern: string;
  readonly ops: readonly HeaderOp[];
}

export interface BuildOptions {
  /** `/about` serves `/about.html`; `/about.html` redirects (308) to `/about`. */
  readonly cleanUrls: boolean;
  readonly trailingSlash: TrailingSlashPolicy;
}

export interface SiteRules {
  readonly redirects: readonly RedirectRule[];
  readonly headers: readonly HeaderBlock[];
  readonly options: BuildOptions;
}

export const DEFAULT_BUILD_OPTIONS: BuildOptions = { cleanUrls: false, trailingSlash: 'always' };

/** What a version-1 webroot (or a site without rule files) means: no rules, today's behaviour. */
export const NO_RULES: SiteRules = { redirects: [], headers: [], options: DEFAULT_BUILD_OPTIONS };

/** Limits, refused at pack time (and by the reader). */
export const RULE_LIMITS = { redirects: 10_000, headerBlocks: 1_000, lineLength: 2_000 } as const;

/**
 * Fields the server owns: a `_headers` block may not set or remove them (the
 * server computes them from the stored representation and the connection).
 */
export const SERVER_OWNED_FIELDS = [
  'content-length',
  'content-encoding',
  'content-range',
  'transfer-encoding',
  'connection',
  'date',
  'etag',
  'last-modified',
  'server',
  'accept-ranges',
  'vary',
  'keep-alive',
  'upgrade',
  'trailer',
] as const;

/** RFC 9110 section 15.4.5: the only fields from `_headers` a 304 carries (Date, ETag and Vary are the server's). */
export const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'expires'] as const;
