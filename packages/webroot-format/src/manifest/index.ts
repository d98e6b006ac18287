export * from './manifest.js';
export * from './keys.js';
export * from './digest.js';
export * from './atomic-file.js';
