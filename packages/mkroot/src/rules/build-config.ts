/**
 * The `[build]` section of an optional `webroot.toml` beside the rules (at
 * the root of SRC_DIR): the build options a site wants, so a deploy does not
 * depend on remembering flags. Flags given to `mkroot build` win over it.
 */
import { TomlError, parse } from 'smol-toml';
import { TRAILING_SLASH_POLICIES, type TrailingSlashPolicy } from '@webroot/format';
import { MkrootError } from '../errors.js';

export interface BuildConfig {
  cleanUrls?: boolean;
  trailingSlash?: TrailingSlashPolicy;
}

const KEYS = ['clean_urls', 'trailing_slash'];

function lineOf(text: string, pattern: RegExp): number {
  const i = text.split('\n').findIndex((l) => pattern.test(l));
  return i === -1 ? 1 : i + 1;
}

export function parseBuildConfig(text: string, file: string): BuildConfig {
  const bad = (line: number, what: string): never => {
    throw new MkrootError('MKROOT_BAD_CONFIG', `${file}:${line}: ${what}`);
  };
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) bad(err.line, `${err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '')} (column ${err.column}); this file must be TOML, e.g. [build] then clean_urls = true`);
    throw err;
  }
  for (const key of Object.keys(doc)) {
    if (key !== 'build') bad(lineOf(text, new RegExp(`^\\s*\\[?\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`)), `unknown section or key ${JSON.stringify(key)}; webroot.toml has one section, [build]`);
  }
  const build = doc.build;
  if (build === undefined) return {};
  if (typeof build !== 'object' || build === null || Array.isArray(build)) bad(lineOf(text, /build/), '[build] must be a table: write [build] on its own line, then key = value lines');
  const b = build as Record<string, unknown>;
  const config: BuildConfig = {};
  for (const [key, value] of Object.entries(b)) {
    const line = lineOf(text, new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`));
    if (!KEYS.includes(key)) bad(line, `unknown key ${JSON.stringify(key)} in [build]; the keys are ${KEYS.join(', ')}`);
    if (key === 'clean_urls') {
      if (typeof value !== 'boolean') bad(line, 'clean_urls must be true or false');
      config.cleanUrls = value as boolean;
    } else {
      if (typeof value !== 'string' || !TRAILING_SLASH_POLICIES.includes(value as TrailingSlashPolicy)) bad(line, `trailing_slash must be one of "always", "never", "ignore"`);
      config.trailingSlash = value as TrailingSlashPolicy;
    }
  }
  return config;
}
