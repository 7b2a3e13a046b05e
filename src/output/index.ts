import type { Finding } from '../signatures/signature.js';
import { formatFindingJson } from './json.js';
import { formatFindingPretty } from './pretty.js';
import { formatFindingTracee } from './tracee.js';

export { formatFindingJson, serializeMetadata } from './json.js';
export { formatEventPretty, formatFindingPretty, formatTimestamp } from './pretty.js';
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
