/**
 * `_redirects` in Netlify's syntax (https://docs.netlify.com/routing/redirects/,
 * https://docs.netlify.com/routing/redirects/redirect-options/): one rule a line,
 * `FROM [key=:name ...] TO [STATUS[!]]`, `#` comments and blank lines. Every
 * refusal is `FILE:LINE: what is wrong; what to write instead`.
 */
import { PLACEHOLDER_NAME, RULE_LIMITS, RULE_STATUSES, parsePathPattern, targetPlaceholders, type QueryCondition, type RedirectRule, type RuleStatus } from '@webroot/format';
import { MkrootError } from '../errors.js';
import { numberedLines, splitAbsolute } from './lines.js';

const CONDITIONS_WE_CANNOT_EVALUATE: Record<string, string> = {
  country: 'needs the client\'s country (GeoIP), which a static server does not have',
  language: 'is not supported: serve one page that picks the language in the browser, or a 302 rule per path',
  role: 'needs Netlify Identity roles, which a static server does not have',
  cookie: 'depends on cookies, which a static server does not read',
};

const isAbsolute = (t: string) => /^https?:\/\//i.test(t);

export function parseRedirects(text: string, file: string): RedirectRule[] {
  const rules: RedirectRule[] = [];
  for (const { n, text: raw } of numberedLines(text, file, 'MKROOT_BAD_REDIRECTS')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const bad = (what: string): never => {
      throw new MkrootError('MKROOT_BAD_REDIRECTS', `${file}:${n}: ${what}`);
    };
    if (rules.length === RULE_LIMITS.redirects) bad(`more than ${RULE_LIMITS.redirects} rules; use splats (/old/* /new/:splat) to cover many paths with one rule`);
    const tokens = line.split(/\s+/);
    const fromToken = tokens[0]!;
    let host: string | undefined;
    let from = fromToken;
    if (isAbsolute(fromToken)) {
      const abs = splitAbsolute(fromToken);
      if (abs === undefined || 'error' in abs) bad(abs?.error ?? `${JSON.stringify(fromToken)} is not a URL`);
      else ({ host, path: from } = abs);
    } else if (!fromToken.startsWith('/')) {
      bad(`${JSON.stringify(fromToken)} is not a path; a rule is FROM TO [STATUS], with FROM a path such as /old or a URL such as https://host/old`);
    }
    const pattern = parsePathPattern(from);
    if ('error' in pattern) bad(`${pattern.error}`);
    const p = pattern as Exclude<typeof pattern, { error: string }>;

    let i = 1;
    const query: QueryCondition[] = [];
    while (i < tokens.length && !tokens[i]!.startsWith('/') && !isAbsolute(tokens[i]!) && tokens[i]!.includes('=')) {
      const t = tokens[i]!;
      const eq = t.indexOf('=');
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      if (!/^[A-Za-z0-9_.~-]+$/.test(key)) bad(`query condition ${JSON.stringify(t)}: the key must be letters, digits, _ . ~ -`);
      if (value === '' || /[&=]/.test(value)) bad(`query condition ${JSON.stringify(t)}: write key=:name to bind the value, or key=value to require one`);
      if (value.startsWith(':') && !PLACEHOLDER_NAME.test(value.slice(1))) bad(`query condition ${JSON.stringify(t)}: ${value} is not a placeholder name`);
      query.push({ key, value });
      i++;
    }
    const to = tokens[i];
    if (to === undefined) bad(`no target: a rule is FROM TO [STATUS], e.g. "${fromToken} /new 301"`);
    const target = to!;
    if (!target.startsWith('/') && !isAbsolute(target)) bad(`target ${JSON.stringify(target)} must be a path (/new) or a URL (https://host/new)`);
    i++;

    let status: RuleStatus = 301;
    let force = false;
    const statusToken = tokens[i];
    if (statusToken !== undefined && /^\d+!?$/.test(statusToken)) {
      const code = Number(statusToken.replace('!', ''));
      if (!(RULE_STATUSES as readonly number[]).includes(code)) {
        bad(`status ${code} is not one we serve; write 301, 302, 303, 307 or 308 (redirect), 200 (rewrite), or 404, 410, 451`);
      }
      status = code as RuleStatus;
      force = statusToken.endsWith('!');
      i++;
    } else if (statusToken === '!') {
      bad('write the force mark right after a status, without a space: 301!');
    }
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === '!') bad(`write the force mark right after the status, without a space: ${status}!`);
      const eq = t.indexOf('=');
      const key = eq > 0 ? t.slice(0, eq).toLowerCase() : '';
      const why = CONDITIONS_WE_CANNOT_EVALUATE[key];
      if (why !== undefined) bad(`the condition ${t.slice(0, eq)}= ${why}; remove it`);
      bad(`unexpected ${JSON.stringify(t)} after the status; a rule is FROM [key=:name ...] TO [STATUS][!]`);
    }

    if (!/^[\x21-\x7e]+$/.test(target)) bad(`target ${JSON.stringify(target)} has characters a URL cannot hold; percent-encode them (%C3%A9 for é)`);
    const bound = new Set([...p.names, ...(p.splat ? ['splat'] : []), ...query.filter((q) => q.value.startsWith(':')).map((q) => q.value.slice(1))]);
    for (const name of targetPlaceholders(target)) {
      if (bound.has(name)) continue;
      if (name === 'splat') bad(`:splat in the target needs a * at the end of the path (write ${from.replace(/\/?$/, '/*')})`);
      bad(`:${name} in the target is not bound: add :${name} as a segment of the path, or a query condition key=:${name}`);
    }
    if (status === 200 && isAbsolute(target)) {
      bad(`a 200 rule to ${target} would proxy to another server, which a static server does not do; redirect instead (301 or 302), or rewrite to a path of this site`);
    }
    if ((status === 404 || status === 410 || status === 451) && isAbsolute(target)) {
      bad(`the target of a ${status} rule is the page sent as its body; give a path of this site, such as /404.html`);
    }
    rules.push({ line: n, source: line, ...(host === undefined ? {} : { host }), from, query, to: target, status, force });
  }
  return rules;
}
