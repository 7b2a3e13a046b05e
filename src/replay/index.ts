export {
  DEFAULT_MAX_LINE_BYTES,
  type LineHandler,
  type SplitOptions,
  splitLines,
} from './lines.js';
export { type ReplayOptions, type ReplaySummary, replay } from './replay.js';
