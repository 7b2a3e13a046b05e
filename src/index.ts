// procmem-guard's public API. See docs/api.md.
export { recordToEvent } from './capture/to-event.js';
export { SignatureEngine, SignatureError } from './engine/engine.js';
export * from './events/index.js';
export { loadNative } from './native.js';
export * from './output/index.js';
export * from './replay/index.js';
export * from './signatures/index.js';
export { CaptureError, type CaptureErrorCode } from './watcher/errors.js';
export {
  type BackendChoice,
  type BackendName,
  type LossReason,
  type LostReport,
  ProcMemWatcher,
  type ProcMemWatcherEvents,
  type ProcMemWatcherOptions,
  type WatcherStats,
} from './watcher/watcher.js';
