export type { DedupKey, DedupStats, PendingRepeats } from './dedup.js';
export { describeException, describePolicy, describePolicyCounts } from './describe.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  type ConditionField,
  type ConditionVerdict,
  type Enforceability,
  kernelEnforceability,
} from './enforceable.js';
export { PolicyFilter, type PolicyStats } from './filter.js';
export { compileGlob, type ExeGlob, GLOB_MAX_LENGTH, GlobError } from './glob.js';
export {
  isPolicy,
  loadPolicy,
  parsePolicy,
  policyFromObject,
  requireSignatures,
  toPolicy,
} from './load.js';
export { type FindingFacts, findingFacts, PolicyMatcher, type PolicyVerdict } from './matcher.js';
export {
  type Access,
  type ContainerScope,
  type DedupSettings,
  type ExceptionSpec,
  POLICY_LIMITS,
  type Policy,
  type PolicyAction,
  PolicyError,
  type PolicyException,
  type PolicySpec,
} from './types.js';
