import { RULE_LIMITS } from '@webroot/format';
import { MkrootError, type MkrootErrorCode } from '../errors.js';

/** A rules file as numbered lines; refuses lines over the length limit. */
export function numberedLines(text: string, file: string, code: MkrootErrorCode): { n: number; text: string }[] {
  const lines = text.split('\n').map((t, i) => ({ n: i + 1, text: t.endsWith('\r') ? t.slice(0, -1) : t }));
  for (const l of lines) {
    if (l.text.length > RULE_LIMITS.lineLength) {
      throw new MkrootError(code, `${file}:${l.n}: line is ${l.text.length} characters long, more than ${RULE_LIMITS.lineLength}; split the rule or shorten it`);
    }
  }
  return lines;
}

/** Splits an absolute `http(s)://host/path` into the lower-case host and the path; undefined when it is not one. */
export function splitAbsolute(url: string): { host: string; path: string } | { error: string } | undefined {
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!m) return undefined;
  const host = m[1]!.toLowerCase().replace(/\.$/, '');
  if (host.includes(':')) return { error: `a domain-level rule is matched by host name only; remove the port from ${JSON.stringify(url)}` };
  if (!/^[a-z0-9.-]+$/.test(host)) return { error: `${JSON.stringify(m[1])} is not a host name` };
  return { host, path: m[2] === '' ? '/' : m[2]! };
}
