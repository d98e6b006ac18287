import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MKROOT_BIN = path.join(ROOT, 'packages/mkroot/bin/mkroot.js');
export const HTTPD_BIN = path.join(ROOT, 'packages/httpd/bin/httpd.js');
export const EXAMPLE_SITE = path.join(ROOT, 'examples/site');
