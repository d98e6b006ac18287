import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_BUILD_OPTIONS, type BuildOptions, type SiteRules } from '@webroot/format';
import { MkrootError } from '../errors.js';
import { parseBuildConfig } from './build-config.js';
import { parseHeaders } from './parse-headers.js';
import { parseRedirects } from './parse-redirects.js';

/** Files at the root of SRC_DIR that configure the site and are never served. */
export const RULE_FILES = ['/_redirects', '/_headers', '/webroot.toml'] as const;

function readIfPresent(file: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new MkrootError('MKROOT_UNREADABLE_FILE', `${file}: cannot read (${code}); fix its permissions`, { cause: err });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new MkrootError('MKROOT_UNREADABLE_FILE', `${file}: not valid UTF-8; save it as UTF-8 text`);
  }
}

/** Reads `_redirects`, `_headers` and `webroot.toml` of SRC_DIR; option flags (`overrides`) win over webroot.toml. */
export function loadSiteRules(srcDir: string, overrides: Partial<BuildOptions> = {}): SiteRules {
  const at = (name: string) => path.join(srcDir, name);
  const redirectsText = readIfPresent(at('_redirects'));
  const headersText = readIfPresent(at('_headers'));
  const tomlText = readIfPresent(at('webroot.toml'));
  const config = tomlText === undefined ? {} : parseBuildConfig(tomlText, at('webroot.toml'));
  const options: BuildOptions = {
    cleanUrls: overrides.cleanUrls ?? config.cleanUrls ?? DEFAULT_BUILD_OPTIONS.cleanUrls,
    trailingSlash: overrides.trailingSlash ?? config.trailingSlash ?? DEFAULT_BUILD_OPTIONS.trailingSlash,
  };
  return {
    redirects: redirectsText === undefined ? [] : parseRedirects(redirectsText, at('_redirects')),
    headers: headersText === undefined ? [] : parseHeaders(headersText, at('_headers')),
    options,
  };
}
