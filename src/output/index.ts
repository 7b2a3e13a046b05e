import type { ProcMemIoEvent } from '../events/proc-mem-io.js';
import { serializeEvent } from '../events/writer.js';
import type { Finding } from '../signatures/signature.js';
import { formatFindingJson } from './json.js';
import { formatFindingPretty, formatIoPretty } from './pretty.js';
import { formatFindingTracee } from './tracee.js';

export { formatFindingJson, serializeMetadata } from './json.js';
export {
  formatEventPretty,
  formatFindingPretty,
  formatIoPretty,
  formatNs,
  formatTimestamp,
} from './pretty.js';
export { detectionEventId, formatFindingTracee, toDetectionEvent } from './tracee.js';

export const FINDING_FORMATS = ['json', 'tracee', 'pretty'] as const;
export type FindingFormat = (typeof FINDING_FORMATS)[number];

const FORMATTERS: Record<FindingFormat, (finding: Finding) => string> = {
  json: formatFindingJson,
  tracee: formatFindingTracee,
  pretty: formatFindingPretty,
};

/** The formatter for one output format; each returns one line without a newline. */
export function findingFormatter(format: FindingFormat): (finding: Finding) => string {
  return FORMATTERS[format];
}

export function isFindingFormat(value: string): value is FindingFormat {
  return (FINDING_FORMATS as readonly string[]).includes(value);
}

/**
 * The formatter of proc_mem_io events for an output of `format`: json and tracee write the
 * event as Tracee event JSON (it is no finding: no sigMetadata), pretty one line.
 */
export function ioFormatter(format: FindingFormat): (event: ProcMemIoEvent) => string {
  return format === 'pretty' ? formatIoPretty : serializeEvent;
}
