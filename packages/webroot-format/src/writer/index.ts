export { WebrootWriter } from './webroot-writer.js';
export type { ObjectRef, ObjectSink, FileRecord, FinishOptions, FinishResult, WriterOptions } from './webroot-writer.js';
export { removeAllTemporaryFiles } from './temp-files.js';
