// Checking one field of an event read from JSON: its type, its range, and integers kept exact
// (JSON.parse rounds past 2^53; ExactDigits recovers the digits, or the line is re-read with
// the exact parser). Every failure is an EventFieldError naming the field.
import { MAX_JSON_DEPTH } from './exact-json.js';
import { type ExactDigits, NEED_EXACT_PARSE } from './exact-numbers.js';
import { printable } from './printable.js';
import { type JsonValue, PID_MAX, U64_MAX } from './types.js';

/** A field of an event is missing or has the wrong type or value. */
export class EventFieldError extends Error {
  override name = 'EventFieldError';
  constructor(
    /** Path of the field in Tracee's JSON, e.g. `processId` or `args[1].value (flags)`. */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `string ${printable(JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value))}`;
    case 'number':
    case 'bigint':
      return `number ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    default:
      return `an ${typeof value}`;
  }
}

export function int(value: unknown, field: string, required: boolean): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (value === undefined && !required) return 0;
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected an integer, got ${describe(value)}`,
  );
}

export function pid(value: unknown, field: string, required: boolean): number {
  const id = int(value, field, required);
  if (id < 0 || id > PID_MAX) {
    throw new EventFieldError(field, `expected a process id (0 to ${PID_MAX}), got number ${id}`);
  }
  return id;
}

export function u64(
  value: unknown,
  field: string,
  exact: ExactDigits | undefined,
  required: boolean,
): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (value === undefined && !required) return 0n;
  if (exact !== undefined && isRoundedInteger(value)) {
    return inU64Range(exact.topLevel(field, value), field);
  }
  return inU64Range(exactInteger(value, field), field);
}

/** An exact integer checked to fit an unsigned 64-bit field. */
export function inU64Range(value: bigint, field: string): bigint {
  if (value < 0n || value > U64_MAX) {
    throw new EventFieldError(
      field,
      `expected an unsigned 64-bit integer (0 to ${U64_MAX}), got number ${value}`,
    );
  }
  return value;
}

export function isRoundedInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** An already exact integer JSON value (safe number or bigint) as bigint. */
export function exactInteger(value: unknown, field: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'bigint') return value;
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected an exact integer, got ${describe(value)}`,
  );
}

export function string(value: unknown, field: string, required: boolean): string {
  if (typeof value === 'string') return value;
  if (value === undefined && !required) return '';
  throw new EventFieldError(
    field,
    value === undefined ? 'missing' : `expected a string, got ${describe(value)}`,
  );
}

/**
 * A JSON value as parsed. From JSON.parse (with `exact`), a rounded integer in a place the
 * fast path cannot locate asks for the exact re-parse.
 */
export function exactJson(value: unknown, exact: ExactDigits | undefined): JsonValue {
  if (exact !== undefined) {
    if (isRoundedInteger(value)) throw NEED_EXACT_PARSE;
    if (typeof value === 'object' && value !== null) assertNoRoundedInteger(value, 0);
  }
  return value as JsonValue;
}

function assertNoRoundedInteger(value: object, depth: number): void {
  // Absurd nesting goes to the exact parser, which reports it, instead of overflowing here.
  if (depth > MAX_JSON_DEPTH) throw NEED_EXACT_PARSE;
  // for-in rather than Object.values: no array allocated for every small object.
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item) && Number.isInteger(item)) throw NEED_EXACT_PARSE;
    } else if (typeof item === 'object' && item !== null) {
      assertNoRoundedInteger(item, depth + 1);
    }
  }
}
