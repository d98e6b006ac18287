export * from './constants.js';
export * from './errors.js';
export * from './reader/types.js';
export { Webroot } from './reader/webroot.js';
export { openWebroot, parseHeader } from './reader/open.js';
export * from './rules/index.js';
