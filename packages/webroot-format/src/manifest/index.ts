export * from './manifest.js';
export * from './keys.js';
export * from './digest.js';
