import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MKROOT_ERROR_CODES } from '../src/errors.js';

describe('mkroot error codes', () => {
  it('every code is documented in the package README', () => {
    const doc = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of Object.keys(MKROOT_ERROR_CODES)) expect(doc, `${code} missing from README.md`).toContain(`\`${code}\``);
  });
});
