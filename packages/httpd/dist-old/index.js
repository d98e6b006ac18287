export { HttpServer } from './server/http-server.js';
export { VhostRegistry, DEFAULT_SITE, hostKey } from './vhosts/registry.js';
export { Site } from './vhosts/site.js';
export { planResponse, errorPlan } from './http/plan.js';
export { parseRequestHead, DEFAULT_LIMITS } from './http/parse-request.js';
export { parseTarget, percentDecode, removeDotSegments } from './http/target.js';
export { normaliseHost } from './http/host.js';
export { evaluatePreconditions } from './http/preconditions.js';
export { parseRange, coalesce, MAX_RANGES } from './http/range.js';
export { negotiateEncoding } from './http/negotiate.js';
export { parseEtagList, strongMatch, weakMatch } from './http/etag-list.js';
export { parseHttpDate, formatHttpDate } from './http/dates.js';
export { executorFor, IO_MODES } from './io/executors.js';
export { ObjectCache } from './io/object-cache.js';
export { createLogger } from './log.js';
export { parseSize } from './config.js';
export { combinedLine } from './server/access-log.js';
//# sourceMappingURL=index.js.map