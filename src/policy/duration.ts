// Durations in a policy file (`dedup.window`): whole numbers with a unit, largest unit first,
// as Go and Prometheus write them: 60s, 1500ms, 5m, 1h30m. A bare number is refused (seconds
// or milliseconds? the reader cannot tell).

const DURATION = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;
/** The units, largest first: DURATION's groups are in this order. */
const UNITS = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/** Parses a duration into milliseconds; throws an Error that says what is accepted. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (text === '' || m === null)
    throw new Error(
      `"${text}" is not a duration: write a whole number with a unit, e.g. 60s, 1500ms, 5m, 1h30m`,
    );
  let ms = 0;
  for (const [k, [, size]] of UNITS.entries()) {
    const digits = m[k + 1];
    if (digits === undefined) continue;
    if (digits.length > 9) throw new Error(`"${text}" is out of range`);
    ms += Number(digits) * size;
  }
  return ms;
}

/** Milliseconds as the shortest duration text parseDuration reads back (90000 → "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
