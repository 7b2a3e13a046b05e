// The policy API the package exports (src/index.ts); the engine and the CLI use the modules
// directly.
export type { DedupKey, DedupStats, PendingRepeats } from './dedup.js';
export { describePolicy } from './describe.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  type ConditionField,
  type ConditionVerdict,
  type Enforceability,
  kernelEnforceability,
} from './enforceable.js';
export type { PolicyStats } from './filter.js';
export { compileGlob, type ExeGlob, GlobError } from './glob.js';
export { isPolicy, loadPolicy, parsePolicy, policyFromObject } from './load.js';
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
