export { createSecurityFileOpenEvent, type SecurityFileOpenFields } from './build.js';
export { parseJsonExact, writeJson } from './exact-json.js';
export {
  formatOpenFlags,
  isReadAccess,
  isWriteAccess,
  O_ACCMODE,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  OPEN_FLAG_BITS,
  OpenFlagsError,
  parseOpenFlags,
} from './open-flags.js';
export {
  createProcMemIoEvent,
  ioArg,
  isProcMemIo,
  PROC_MEM_IO,
  PROC_MEM_IO_EVENT_ID,
  type ProcMemIoArgs,
  type ProcMemIoEvent,
  type ProcMemIoFields,
} from './proc-mem-io.js';
export {
  EventFieldError,
  EventParseError,
  type EventParseResult,
  eventFromJson,
  parseEventLine,
  parseEventLineGeneral,
} from './reader.js';
export { readTraceeLayout } from './tracee-layout.js';
export * from './types.js';
export {
  serializeArgs,
  serializeCaptureMark,
  serializeContainer,
  serializeEvent,
} from './writer.js';
