// Typed, actionable errors for when capture cannot start. Codes mirror native/backend.h.

/** Every code, documented in docs/api.md; the native ones mirror native/backend.h. */
export const CAPTURE_ERROR_CODES = [
  'EPERM_CAPTURE', // not root / missing a capability (README "Operating it" lists each backend's set)
  'FANOTIFY_UNAVAILABLE', // kernel built without fanotify, or it refused our group/marks
  'EBPF_UNAVAILABLE', // addon built without eBPF, or the kernel refused to load/attach our programs
  'AUDIT_UNAVAILABLE', // no NETLINK_AUDIT (no kernel audit, audit=0, another network namespace)
  'LIMIT_REACHED', // fanotify max_user_groups / max_user_marks, audit rule limit
  'AUDIT_BUSY', // another audit watcher, audit locked (enabled=2) or failure mode panic
  'STATE_UNSAFE', // the state directory (/run/procmem-guard) is a symlink, not ours, or writable by others
  'NATIVE_MISSING', // no native addon loads here (none fits and none was built)
  'INTERNAL',
] as const;
export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[number];

export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    /** The backend that failed, when one was tried. */
    readonly backend?: 'ebpf' | 'fanotify' | 'audit',
  ) {
    super(message);
  }
}

const knownCodes = new Set<string>(CAPTURE_ERROR_CODES);

/** Wraps whatever the native layer threw into a CaptureError, keeping its code and message. */
export function toCaptureError(
  err: unknown,
  backend?: 'ebpf' | 'fanotify' | 'audit',
): CaptureError {
  if (err instanceof CaptureError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && knownCodes.has(e.code) ? e.code : 'INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return new CaptureError(code as CaptureErrorCode, message, backend);
}
