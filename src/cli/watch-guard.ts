// watch's side of guard mode (README "Guard mode"): the --enforce[=dry-run] flag and the lines
// that say what guard mode is doing, at start and in the exit summary.

import type { EnforcementStats } from '../guard/guard.js';
import type { EnforceOption } from '../guard/mode.js';
import { UsageError } from './command.js';

/** parseArgs needs a value for a string option: a bare --enforce means --enforce=true. */
export function enforceArgs(args: readonly string[]): string[] {
  return args.map((a) => (a === '--enforce' ? '--enforce=true' : a));
}

/** The flag's value: true, or 'dry-run'. */
export function enforceFlag(value: string | undefined): EnforceOption | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'dry-run') return 'dry-run';
  throw new UsageError(`--enforce takes no value or "=dry-run", got "${value}"`);
}

/** `; guard mode enforce (...)` for the start line, or the counts for the summary; '' off. */
export function describeEnforcement(e: EnforcementStats, starting: boolean): string {
  if (e.mode === 'off') return '';
  if (starting) {
    const absent = e.unpinned.length
      ? `; executables not on this host: ${e.unpinned.join(', ')}`
      : '';
    return `; guard mode ${e.mode} (${e.exceptionsInKernel} exception entries in the kernel${absent})`;
  }
  return e.mode === 'enforce'
    ? `; guard mode: killed ${e.killed}, kills refused by the kernel ${e.killFailures}`
    : `; guard mode (dry run): would have killed ${e.wouldKill}`;
}
