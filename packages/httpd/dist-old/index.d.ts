export { HttpServer, type HttpServerOptions } from './server/http-server.js';
export { VhostRegistry, DEFAULT_SITE, hostKey } from './vhosts/registry.js';
export { Site } from './vhosts/site.js';
export { planResponse, errorPlan, type Plan, type Segment, type PlanConfig } from './http/plan.js';
export { parseRequestHead, DEFAULT_LIMITS, type RequestHead, type ParseOutcome, type ParseLimits } from './http/parse-request.js';
export { parseTarget, percentDecode, removeDotSegments, type TargetOutcome } from './http/target.js';
export { normaliseHost } from './http/host.js';
export { evaluatePreconditions, type PreconditionOutcome } from './http/preconditions.js';
export { parseRange, coalesce, MAX_RANGES, type ByteRange, type RangeOutcome } from './http/range.js';
export { negotiateEncoding, type EncodingChoice } from './http/negotiate.js';
export { parseEtagList, strongMatch, weakMatch } from './http/etag-list.js';
export { parseHttpDate, formatHttpDate } from './http/dates.js';
export { executorFor, IO_MODES, type IoMode } from './io/executors.js';
export { ObjectCache } from './io/object-cache.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { parseSize, type HttpdConfig } from './config.js';
export { combinedLine } from './server/access-log.js';
//# sourceMappingURL=index.d.ts.map