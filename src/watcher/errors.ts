// Typed, actionable errors for when capture cannot start. The native codes come from
// native/capture_error.h through the generated capture-error-codes.ts; NATIVE_MISSING is the
// one code raised here, in JavaScript (no addon to ask).
import { NATIVE_CAPTURE_ERRORS } from './capture-error-codes.js';

/** Every code with what it means (docs/api.md has the same table, checked by a test). */
export const CAPTURE_ERRORS = {
  ...NATIVE_CAPTURE_ERRORS,
  NATIVE_MISSING: 'no native addon loads here (none fits and none was built)',
} as const;
export type CaptureErrorCode = keyof typeof CAPTURE_ERRORS;
/** The codes a native backend throws. */
export type NativeCaptureErrorCode = keyof typeof NATIVE_CAPTURE_ERRORS;
export const CAPTURE_ERROR_CODES = Object.keys(CAPTURE_ERRORS) as CaptureErrorCode[];

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
