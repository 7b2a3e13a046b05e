// procmem-guard's public API. See docs/api.md.

export { recordToEvent, recordToIoEvent } from './capture/to-event.js';
export { type CliIo, type Command, UsageError } from './cli/command.js';
export * from './engine/index.js';
export * from './events/index.js';
export type { EnforcementStats } from './guard/guard.js';
export type { EnforceMode, EnforceOption } from './guard/mode.js';
export { GUARD_LIMITS, type GuardEntry, type GuardTable, guardTable } from './guard/table.js';
export { loadNative, nativeAddonPath } from './native.js';
export {
  detectionEventId,
  FINDING_FORMATS,
  type FindingFormat,
  findingFormatter,
  formatEventPretty,
  formatFindingJson,
  formatFindingPretty,
  formatFindingTracee,
  formatTimestamp,
  isFindingFormat,
  serializeMetadata,
  toDetectionEvent,
} from './output/index.js';
export * from './policy/index.js';
export {
  DEFAULT_MAX_LINE_BYTES,
  type LineHandler,
  type ReplayOptions,
  type ReplaySummary,
  replay,
  type SplitOptions,
  splitLines,
} from './replay/index.js';
export {
  type CapabilityName,
  missingCapabilities,
  REQUIRED_CAPABILITIES,
} from './service/capabilities.js';
export { createRegistry, healthy, serveMetrics } from './service/metrics.js';
export {
  createOutput,
  type Output,
  type OutputCounters,
  type OutputOptions,
} from './service/outputs.js';
export {
  builtinSignatures,
  isProcfsMemOpen,
  openFlagsOf,
  PROC_MEM_ACCESS_METADATA,
  PROC_MEM_CODE_INJECTION_METADATA,
  PROCFS_MEM_PATH,
  ProcfsMemSignature,
  ProcMemAccess,
  ProcMemCodeInjection,
} from './signatures/index.js';
export type {
  EventOrigin,
  Finding,
  Signal,
  Signature,
  SignatureContext,
  SignatureEventSelector,
  SignatureMetadata,
  SignatureProperties,
} from './signatures/signature.js';
export { CaptureError, type CaptureErrorCode } from './watcher/errors.js';
export {
  type BackendChoice,
  type BackendName,
  type IoStats,
  type LossReason,
  type LostReport,
  ProcMemWatcher,
  type ProcMemWatcherEvents,
  type ProcMemWatcherOptions,
  type WatcherStats,
} from './watcher/watcher.js';
