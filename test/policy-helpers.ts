// Constructed live events for the policy tests: a mem open with the capture mark, target
// information as the enrich contract (docs/api.md) describes it, a parser shortcut, and the
// error a call throws.
import { createSecurityFileOpenEvent } from '../src/events/build.js';
import type { SecurityFileOpenEvent, TargetInfo } from '../src/events/types.js';
import { parsePolicy } from '../src/policy/load.js';
import type { Policy } from '../src/policy/types.js';

export interface MemOpen {
  exe?: string;
  comm?: string;
  uid?: number;
  pid?: number;
  /** Raw open flags: 0 O_RDONLY (default), 1 O_WRONLY, 2 O_RDWR. */
  flags?: number;
  parentExe?: string;
  containerId?: string;
  target?: Partial<TargetInfo> | null;
  notes?: string[];
  /** Event time in seconds (any origin). */
  at?: number;
}

/** A live mem open of /proc/<target pid>/mem; target defaults to a sleep started by nobody. */
export function memOpen(o: MemOpen = {}): SecurityFileOpenEvent {
  const targetPid = o.target?.pid ?? 2000;
  const target: TargetInfo | undefined =
    o.target === null
      ? undefined
      : {
          pid: targetPid,
          tid: targetPid,
          comm: 'sleep',
          exe: '/usr/bin/sleep',
          uid: 0,
          relation: 'unrelated',
          ...o.target,
        };
  return createSecurityFileOpenEvent({
    timestamp: BigInt(Math.round((o.at ?? 0) * 1e9)) + 1_700_000_000_000_000_000n,
    processId: o.pid ?? 1000,
    processName: o.comm ?? 'dd',
    executable: { path: o.exe ?? '/usr/bin/dd' },
    userId: o.uid ?? 0,
    containerId: o.containerId ?? '',
    pathname: `/proc/${targetPid}/mem`,
    flags: o.flags ?? 0,
    procmemGuard: {
      procfsMem: true,
      targetPid,
      targetTid: targetPid,
      flagsSource: 'kernel',
      backend: 'ebpf',
      ...(o.notes ? { notes: o.notes } : {}),
      ...(target ? { target } : {}),
      ...(o.parentExe !== undefined ? { parentExe: o.parentExe } : {}),
    },
  });
}

/** A policy with one exception written as YAML lines (indented under "- "). */
export function onePolicy(exception: string, dedup = ''): Policy {
  return parsePolicy(
    `version: 1\n${dedup ? `dedup: ${dedup}\n` : ''}exceptions:\n  - ${exception
      .trim()
      .split('\n')
      .join('\n    ')}\n`,
    'test.yaml',
  );
}

/** The error `fn` throws, which must be an `ErrorClass` (anything else fails the test). */
export function thrown<E extends Error>(
  fn: () => unknown,
  ErrorClass: new (...a: never[]) => E,
): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof ErrorClass) return err;
    throw err;
  }
  throw new Error(`expected a ${ErrorClass.name}`);
}
