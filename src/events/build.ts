// Builds a security_file_open event from plain fields, filling Tracee's defaults, so that
// the capture layer and tests need not spell out all of trace.Event.

import {
  type CaptureMark,
  type JsonObject,
  SECURITY_FILE_OPEN,
  SECURITY_FILE_OPEN_EVENT_ID,
  type SecurityFileOpenEvent,
  type TraceeArgument,
  type TraceeEventContext,
} from './types.js';

export interface SecurityFileOpenFields
  extends Partial<Omit<TraceeEventContext, 'eventName' | 'argsNum'>> {
  /** Path as the opener named it (Tracee's `pathname`). */
  pathname: string;
  /** Raw open flags, or Tracee's string form ("O_RDONLY|O_LARGEFILE"). */
  flags: number | string;
  dev?: bigint;
  inode?: bigint;
  ctime?: bigint;
  /** Path given to the syscall, before resolution; defaults to `pathname`. */
  syscallPathname?: string;
  procmemGuard?: CaptureMark;
  extraArgs?: TraceeArgument[];
  extra?: JsonObject;
}

export function createSecurityFileOpenEvent(fields: SecurityFileOpenFields): SecurityFileOpenEvent {
  const processId = fields.processId ?? 0;
  const threadId = fields.threadId ?? processId;
  const args: SecurityFileOpenEvent['args'] = [
    { name: 'pathname', type: 'const char*', value: fields.pathname },
    {
      name: 'flags',
      type: typeof fields.flags === 'string' ? 'string' : 'int',
      value: fields.flags,
    },
    { name: 'dev', type: 'dev_t', value: fields.dev ?? 0n },
    { name: 'inode', type: 'unsigned long', value: fields.inode ?? 0n },
    { name: 'ctime', type: 'unsigned long', value: fields.ctime ?? 0n },
    {
      name: 'syscall_pathname',
      type: 'const char*',
      value: fields.syscallPathname ?? fields.pathname,
    },
    ...(fields.extraArgs ?? []),
  ];
  const event: SecurityFileOpenEvent = {
    timestamp: fields.timestamp ?? 0n,
    threadStartTime: fields.threadStartTime ?? 0n,
    processorId: fields.processorId ?? 0,
    processId,
    cgroupId: fields.cgroupId ?? 0n,
    threadId,
    parentProcessId: fields.parentProcessId ?? 0,
    hostProcessId: fields.hostProcessId ?? processId,
    hostThreadId: fields.hostThreadId ?? threadId,
    hostParentProcessId: fields.hostParentProcessId ?? fields.parentProcessId ?? 0,
    userId: fields.userId ?? 0,
    mountNamespace: fields.mountNamespace ?? 0,
    pidNamespace: fields.pidNamespace ?? 0,
    processName: fields.processName ?? '',
    executable: fields.executable ?? { path: '' },
    hostName: fields.hostName ?? '',
    containerId: fields.containerId ?? '',
    container: fields.container ?? {},
    eventId: fields.eventId ?? SECURITY_FILE_OPEN_EVENT_ID,
    eventName: SECURITY_FILE_OPEN,
    argsNum: args.length,
    returnValue: fields.returnValue ?? 0,
    syscall: fields.syscall ?? 'openat',
    args,
  };
  if (fields.procmemGuard !== undefined) event.procmemGuard = fields.procmemGuard;
  if (fields.extra !== undefined) event.extra = fields.extra;
  return event;
}
