// Deep-freezing of plain data shared by reference: signature metadata (every finding carries
// it) and checked policies (the engine and every caller share one).

/** Freezes `value` and every object in it, so nobody may change them; returns `value`. */
export function deepFrozen<T extends object>(value: T): Readonly<T> {
  for (const item of Object.values(value)) {
    if (typeof item === 'object' && item !== null) deepFrozen(item);
  }
  return Object.freeze(value);
}
