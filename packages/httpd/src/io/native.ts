import { createRequire } from 'node:module';

/**
 * The native addon (packages/httpd/native/sendfile.c: sendfile, page-cache hints, cachestat, pageOffset),
 * built by native/build.mjs during `pnpm build`. Node caches the module, so each caller may ask. Throws when
 * it is missing or does not load; each caller checks the exports it needs and falls back on its own.
 */
export function requireNative<T>(): Partial<T> {
  // dist/io/native.js -> native/build/Release
  return createRequire(import.meta.url)('../../native/build/Release/webroot_sendfile.node') as Partial<T>;
}
