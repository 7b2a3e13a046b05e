// The arguments of an event: any event's as they are (integers kept exact), and
// security_file_open's six checked and put in Tracee's order (pathname, flags, dev, inode,
// ctime, syscall_pathname; extra ones follow).
import type { ExactDigits } from './exact-numbers.js';
import {
  describe,
  EventFieldError,
  exactInteger,
  exactJson,
  inU64Range,
  isObject,
  isRoundedInteger,
  string,
} from './field-checks.js';
import { OpenFlagsError, parseOpenFlags } from './open-flags.js';
import type { JsonValue, SecurityFileOpenArgs, TraceeArgument } from './types.js';

type RawArgument = { name: string; type: string; value: unknown };

/** Checks `{name, type, value}` in place: argument objects are reused, not copied. */
function checkedArguments(argsRaw: unknown[]): RawArgument[] {
  for (let i = 0; i < argsRaw.length; i++) {
    const arg = argsRaw[i];
    if (!isObject(arg)) {
      throw new EventFieldError(`args[${i}]`, `expected an object, got ${describe(arg)}`);
    }
    string(arg.name, `args[${i}].name`, true);
    string(arg.type, `args[${i}].type`, true);
  }
  return argsRaw as RawArgument[];
}

export function genericArgs(argsRaw: unknown[], exact: ExactDigits | undefined): TraceeArgument[] {
  const args = checkedArguments(argsRaw);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as RawArgument;
    arg.value = argValue(args, i, exact);
  }
  return args as TraceeArgument[];
}

/** Any argument value, with rounded integers made exact. */
function argValue(args: RawArgument[], index: number, exact: ExactDigits | undefined): JsonValue {
  const { value } = args[index] as RawArgument;
  if (exact !== undefined && isRoundedInteger(value)) return exact.argValue(args, index, value);
  return exactJson(value, exact);
}

const FILE_OPEN_ARG_NAMES = [
  'pathname',
  'flags',
  'dev',
  'inode',
  'ctime',
  'syscall_pathname',
] as const;
const CANONICAL_POSITIONS: readonly number[] = [0, 1, 2, 3, 4, 5];

/** security_file_open's six arguments, checked and in Tracee's order; extra ones follow. */
export function securityFileOpenArgs(
  argsRaw: unknown[],
  exact: ExactDigits | undefined,
): SecurityFileOpenArgs {
  const args = checkedArguments(argsRaw);
  const positions = fileOpenArgPositions(args);
  const [pathname, flags, dev, inode, ctime, syscallPathname] = positions as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  stringArg(args, pathname, 'pathname');
  flagsArg(args, flags);
  u64Arg(args, dev, 'dev', exact);
  u64Arg(args, inode, 'inode', exact);
  u64Arg(args, ctime, 'ctime', exact);
  stringArg(args, syscallPathname, 'syscall_pathname');
  if (positions === CANONICAL_POSITIONS) {
    for (let i = FILE_OPEN_ARG_NAMES.length; i < args.length; i++) {
      const arg = args[i] as RawArgument;
      arg.value = argValue(args, i, exact);
    }
    return args as unknown as SecurityFileOpenArgs;
  }
  const ordered = positions.map((index) => args[index]) as RawArgument[];
  for (let i = 0; i < args.length; i++) {
    if (positions.includes(i)) continue;
    const arg = args[i] as RawArgument;
    arg.value = argValue(args, i, exact);
    ordered.push(arg);
  }
  return ordered as unknown as SecurityFileOpenArgs;
}

/** Index of each of the six arguments: Tracee's order in practice, any order accepted. */
function fileOpenArgPositions(args: RawArgument[]): readonly number[] {
  let inOrder = args.length >= FILE_OPEN_ARG_NAMES.length;
  for (let i = 0; inOrder && i < FILE_OPEN_ARG_NAMES.length; i++) {
    inOrder = args[i]?.name === FILE_OPEN_ARG_NAMES[i];
  }
  if (inOrder) return CANONICAL_POSITIONS;
  return FILE_OPEN_ARG_NAMES.map((name) => {
    const index = args.findIndex((arg) => arg.name === name);
    if (index < 0) throw new EventFieldError('args', `missing argument "${name}"`);
    return index;
  });
}

function stringArg(args: RawArgument[], index: number, name: string): void {
  string((args[index] as RawArgument).value, `args[${index}].value (${name})`, true);
}

function flagsArg(args: RawArgument[], index: number): void {
  try {
    parseOpenFlags((args[index] as RawArgument).value);
  } catch (err) {
    if (err instanceof OpenFlagsError) {
      throw new EventFieldError(`args[${index}].value (flags)`, err.message);
    }
    throw err;
  }
}

/** Converts the argument's value to an exact bigint, in place. */
function u64Arg(
  args: RawArgument[],
  index: number,
  name: string,
  exact: ExactDigits | undefined,
): void {
  const arg = args[index] as RawArgument;
  const { value } = arg;
  const field = `args[${index}].value (${name})`;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    arg.value = BigInt(value);
  } else if (exact !== undefined && isRoundedInteger(value)) {
    arg.value = inU64Range(exact.argValue(args, index, value), field);
  } else {
    arg.value = inU64Range(exactInteger(value, field), field);
  }
}
