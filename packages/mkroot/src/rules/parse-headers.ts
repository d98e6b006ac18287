/**
 * `_headers` in Netlify's syntax (https://docs.netlify.com/routing/headers/):
 * a path line (patterns as in `_redirects`), then indented `Name: value`
 * lines; with Cloudflare Pages' `! Name` to remove a field an earlier block set
 * (https://developers.cloudflare.com/pages/configuration/headers/ "Detach a header").
 */
import { FIELD_VALUE, RULE_LIMITS, SERVER_OWNED_FIELDS, TOKEN, parsePathPattern, type HeaderBlock, type HeaderOp } from '@webroot/format';
import { MkrootError } from '../errors.js';
import { numberedLines, splitAbsolute } from './lines.js';

export function parseHeaders(text: string, file: string): HeaderBlock[] {
  const blocks: { line: number; host?: string; pattern: string; ops: HeaderOp[] }[] = [];
  for (const { n, text: raw } of numberedLines(text, file, 'MKROOT_BAD_HEADERS')) {
    const bad = (what: string): never => {
      throw new MkrootError('MKROOT_BAD_HEADERS', `${file}:${n}: ${what}`);
    };
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const indented = /^[ \t]/.test(raw);
    if (!indented) {
      if (blocks.length === RULE_LIMITS.headerBlocks) bad(`more than ${RULE_LIMITS.headerBlocks} header blocks; use patterns (/assets/*) to cover many paths with one block`);
      if (!line.startsWith('/') && !/^https?:\/\//i.test(line) && line.includes(':')) {
        bad(`"${line}" looks like a header without a path above it; start the block with a path line such as /*, and indent the header`);
      }
      if (/\s/.test(line)) bad(`a path line holds the path alone; put each "Name: value" on its own indented line below it`);
      let pattern = line;
      let host: string | undefined;
      if (/^https?:\/\//i.test(line)) {
        const abs = splitAbsolute(line);
        if (abs === undefined || 'error' in abs) bad(abs?.error ?? `${JSON.stringify(line)} is not a URL`);
        else ({ host, path: pattern } = abs);
      } else if (!line.startsWith('/')) {
        bad(`${JSON.stringify(line)} is not a path; a block starts with a path such as /* or /assets/*`);
      }
      const p = parsePathPattern(pattern);
      if ('error' in p) bad(p.error);
      blocks.push({ line: n, ...(host === undefined ? {} : { host }), pattern, ops: [] });
      continue;
    }
    const block = blocks[blocks.length - 1];
    if (block === undefined) bad('a header line before any path; start the block with a path line such as /* (not indented)');
    let op: HeaderOp;
    if (line.startsWith('!')) {
      const name = line.slice(1).trim();
      if (!TOKEN.test(name)) bad(`"! ${name}": write ! and the name of the field to remove, e.g. ! X-Robots-Tag`);
      op = { op: 'remove', line: n, name };
    } else {
      const colon = line.indexOf(':');
      if (colon === -1) bad(`${JSON.stringify(line)} is not "Name: value"; write e.g. X-Frame-Options: DENY`);
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (!TOKEN.test(name)) bad(`${JSON.stringify(name)} is not a valid field name (RFC 9110 section 5.1: letters, digits and !#$%&'*+-.^_\`|~ only)`);
      if (value === '') bad(`${name} has no value; give one, or remove the field with "! ${name}"`);
      if (!FIELD_VALUE.test(value)) bad(`the value of ${name} has a character a field value cannot hold (RFC 9110 section 5.5: visible ASCII, spaces and tabs); percent-encode it or leave it out`);
      op = { op: 'set', line: n, name, value };
    }
    if ((SERVER_OWNED_FIELDS as readonly string[]).includes(op.name.toLowerCase())) {
      bad(`${op.name} is set by the server from the file and the connection; remove this line (Cache-Control, CORS, security and other fields are fine)`);
    }
    block!.ops.push(op);
  }
  return blocks;
}
