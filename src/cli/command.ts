// What a CLI command is. main.ts dispatches from a table of these; `watch` and `doctor`
// join the table as their own files (src/cli/watch.ts, src/cli/doctor.ts).

import type { Readable, Writable } from 'node:stream';
import { FINDING_FORMATS, type FindingFormat, isFindingFormat } from '../output/index.js';
import { BACKEND_CHOICES, type BackendChoice } from '../watcher/watcher.js';

/** The process streams, passed in so that commands can be tested without a child process. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface Command {
  name: string;
  /** One line for `procmem-guard --help`. */
  summary: string;
  /** Full help text for `procmem-guard <name> --help`. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage mistake: main prints the message and the command's help hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The value of --format, checked. */
export function findingFormatOption(value: string): FindingFormat {
  if (isFindingFormat(value)) return value;
  throw new UsageError(
    `unknown --format "${value}"; expected one of ${FINDING_FORMATS.join(', ')}`,
  );
}

/** The value of --backend, checked. */
export function backendOption(value: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new UsageError(
    `unknown --backend "${value}"; expected one of ${BACKEND_CHOICES.join(', ')}`,
  );
}
