// proc_mem_io: what the opener of a reported mem file did with it (issue "observed access"),
// a follow-up of the security_file_open event it opened with. Tracee-shaped (trace.Event with
// its own eventName and args) so that the same writers and outputs carry it; Tracee itself has
// no such event. Built from an io summary record (src/capture/to-event.ts); the context fields
// and procmemGuard (opener, target) are the open's.
import type {
  CaptureMark,
  IoEnd,
  IoInfo,
  TraceeArgument,
  TraceeEvent,
  TraceeEventContext,
} from './types.js';

export const PROC_MEM_IO = 'proc_mem_io';
/** Not a Tracee id (Tracee has no such event): procmem-guard's own events are numbered from 9000. */
export const PROC_MEM_IO_EVENT_ID = 9000;

/** proc_mem_io's arguments, in this order. */
export type ProcMemIoArgs = [
  /** The opener's fd (the open's returnValue). */
  TraceeArgument<'fd', number>,
  /** The open's pathname. */
  TraceeArgument<'pathname', string>,
  /** Read-family calls on the fd (read, pread64, readv, preadv, preadv2), failed ones included. */
  TraceeArgument<'reads', bigint>,
  /** Write-family calls (write, pwrite64, writev, pwritev, pwritev2), failed ones included. */
  TraceeArgument<'writes', bigint>,
  /** Sum of the reads' positive returns; -1 when the backend cannot count bytes. */
  TraceeArgument<'bytesRead', bigint>,
  TraceeArgument<'bytesWritten', bigint>,
  /** From the open to the end (close, exit...), ns. */
  TraceeArgument<'durationNs', bigint>,
];

export interface ProcMemIoEvent extends TraceeEvent {
  eventName: typeof PROC_MEM_IO;
  args: ProcMemIoArgs;
  procmemGuard: CaptureMark & { io: IoInfo };
}

export interface ProcMemIoFields {
  context: Omit<TraceeEventContext, 'eventId' | 'eventName' | 'argsNum'>;
  mark: CaptureMark;
  fd: number;
  pathname: string;
  reads: bigint;
  writes: bigint;
  /** null: not known (the backend counts calls only). */
  bytesRead: bigint | null;
  bytesWritten: bigint | null;
  durationNs: bigint;
  openTimestamp: bigint;
  end: IoEnd;
}

export function createProcMemIoEvent(f: ProcMemIoFields): ProcMemIoEvent {
  const u64 = (name: string, value: bigint) => ({ name, type: 'unsigned long', value });
  const bytes = (name: string, value: bigint | null) => ({
    name,
    type: 'long',
    value: value ?? -1n,
  });
  const args = [
    { name: 'fd', type: 'int', value: f.fd },
    { name: 'pathname', type: 'const char*', value: f.pathname },
    u64('reads', f.reads),
    u64('writes', f.writes),
    bytes('bytesRead', f.bytesRead),
    bytes('bytesWritten', f.bytesWritten),
    u64('durationNs', f.durationNs),
  ] as ProcMemIoArgs;
  return {
    ...f.context,
    eventId: PROC_MEM_IO_EVENT_ID,
    eventName: PROC_MEM_IO,
    argsNum: args.length,
    args,
    procmemGuard: { ...f.mark, io: { openTimestamp: f.openTimestamp, end: f.end } },
  };
}

export function isProcMemIo(event: TraceeEvent): event is ProcMemIoEvent {
  return event.eventName === PROC_MEM_IO;
}

/** proc_mem_io's argument values by name. */
type IoArgValues = { [A in ProcMemIoArgs[number] as A['name']]: A['value'] };

/** An argument's value by name (the args are in a fixed order, but readers go by name). */
export function ioArg<N extends keyof IoArgValues>(event: ProcMemIoEvent, name: N): IoArgValues[N] {
  return event.args.find((a) => a.name === name)?.value as IoArgValues[N];
}
