// Replay: Tracee JSON lines in, one formatted finding per line out. The library side of
// `procmem-guard replay`; the CLI adds argument parsing and exit codes.

import type { Readable } from 'node:stream';
import { SignatureEngine } from '../engine/engine.js';
import { EventParseError, parseEventLine } from '../events/reader.js';
import { type FindingFormat, findingFormatter } from '../output/index.js';
import type { PolicyStats } from '../policy/filter.js';
import type { Policy } from '../policy/types.js';
import type { Finding } from '../signatures/signature.js';
import { splitLines } from './lines.js';

export interface ReplaySummary {
  /** Lines that held a valid event. */
  events: number;
  findings: number;
  /** Lines that were not a valid event (each reported through onMalformed). */
  malformed: number;
  /** Empty or whitespace-only lines, skipped silently. */
  blank: number;
  /** Exceptions thrown by signatures (reported through the engine's 'error'). */
  signatureErrors: number;
  /** The engine's policy counts (suppressed, annotated, dedup); absent when it has no policy. */
  policy?: PolicyStats;
}

export interface ReplayOptions {
  format: FindingFormat;
  /** Receives formatted output in batches of whole lines, each ending in "\n". */
  write: (text: string) => void;
  /** Called for each malformed line. */
  onMalformed: (error: EventParseError) => void;
  /** Signatures to run; a new engine with the built-in signatures when omitted. */
  engine?: SignatureEngine;
  /**
   * Exceptions and dedup, set on the engine. Replayed Tracee events carry no target or parent
   * information: exceptions with target, relation or parentExe conditions never match them.
   */
  policy?: Policy;
  maxLineBytes?: number;
  /** Awaited after each input chunk once its output was written (backpressure). */
  drain?: () => Promise<void> | void;
  /** Stops the replay early when it returns true. */
  stopped?: () => boolean;
}

const OUTPUT_BATCH_CHARS = 64 * 1024;

export async function replay(
  input: Readable | AsyncIterable<Buffer | string>,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const engine = options.engine ?? new SignatureEngine();
  if (options.policy !== undefined) engine.setPolicy(options.policy);
  const format = findingFormatter(options.format);
  const summary: ReplaySummary = {
    events: 0,
    findings: 0,
    malformed: 0,
    blank: 0,
    signatureErrors: 0,
  };
  const errorsBefore = engine.stats.signatureErrors;
  let output = '';
  const onFinding = (finding: Finding): void => {
    summary.findings++;
    output += `${format(finding)}\n`;
    if (output.length >= OUTPUT_BATCH_CHARS) {
      options.write(output);
      output = '';
    }
  };
  engine.on('finding', onFinding);
  try {
    await splitLines(
      input,
      {
        line(text, lineNo) {
          const result = parseEventLine(text, lineNo);
          if (result.ok) {
            summary.events++;
            engine.dispatch(result.event);
          } else if (result.error.field === undefined && text.trim() === '') {
            summary.blank++;
          } else {
            summary.malformed++;
            options.onMalformed(result.error);
          }
        },
        tooLong(lineNo, bytes) {
          summary.malformed++;
          options.onMalformed(
            new EventParseError(lineNo, undefined, `line too long (${bytes} bytes), skipped`),
          );
        },
      },
      {
        ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
        afterChunk: async () => {
          if (output !== '') {
            options.write(output);
            output = '';
          }
          await options.drain?.();
        },
        ...(options.stopped === undefined ? {} : { stopped: options.stopped }),
      },
    );
    engine.signal({ type: 'source-complete', source: 'tracee' });
    if (output !== '') options.write(output);
  } finally {
    engine.off('finding', onFinding);
  }
  summary.signatureErrors = engine.stats.signatureErrors - errorsBefore;
  const policy = engine.policyStats();
  if (policy.policy !== null) summary.policy = policy;
  return summary;
}
