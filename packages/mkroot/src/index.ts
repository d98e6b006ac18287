export { packDirectory, STREAM_THRESHOLD } from './pack.js';
export type { PackOptions, PackProgress, PackSummary } from './pack.js';
export { detectMime, parseMimeOverrides, withCharset } from './mime.js';
export { isCompressible, DEFAULT_COMPRESSION } from './compress.js';
export { walkSource } from './walk.js';
export { MkrootError, MKROOT_ERROR_CODES } from './errors.js';
export type { MkrootErrorCode } from './errors.js';
export { listEntries, describeWebroot, diffWebroots, fileAt, withWebroot } from './inspect.js';
export { VERSION, GENERATOR } from './version.js';
