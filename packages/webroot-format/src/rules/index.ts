export * from './types.js';
export { parsePathPattern, pathSegments, matchPattern, targetPlaceholders, decodePercent, PLACEHOLDER_NAME } from './pattern.js';
export type { PathPattern, PatternSegment } from './pattern.js';
export { compileRules, CompiledRules, type CompiledRedirect, type CompiledHeaderBlock, type ExactRules } from './matcher.js';
export { evaluateRules, headerFields, substituteFieldValue, nearestNotFoundPage, encodePath, encodeSegment } from './evaluate.js';
export type { EvaluateOptions, Evaluation, RuleDecision, RuleRequest, SiteIndex, Field } from './evaluate.js';
export { canonicalRules, rulesDigest } from './digest.js';
export { rulesProblem, redirectRuleProblem, TOKEN, FIELD_VALUE } from './validate.js';
