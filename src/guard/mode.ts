// Guard mode's switch (README "Guard mode"): `enforce` in the library options and the config
// file, `--enforce[=dry-run]` on the command line. Checked here, before anything reaches the
// addon: a wrong type is a TypeError naming where it came from.

/** false: report only; true: kill openers no exception allows; 'dry-run': report who would be. */
export type EnforceOption = boolean | 'dry-run';
/** What the stats and the addon call the three settings. */
export type EnforceMode = 'off' | 'enforce' | 'dry-run';

export function enforceMode(option: EnforceOption | undefined): EnforceMode {
  return option === true ? 'enforce' : option === 'dry-run' ? 'dry-run' : 'off';
}

/** Throws a TypeError unless `value` is undefined, true, false or 'dry-run'. */
export function checkEnforceOption(value: unknown, where: string): void {
  if (value === undefined || typeof value === 'boolean' || value === 'dry-run') return;
  throw new TypeError(
    `${where} must be true, false or "dry-run", got ${typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value}`,
  );
}
