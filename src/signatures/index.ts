import { PROC_MEM_ACCESS_METADATA, ProcMemAccess } from './proc_mem_access.js';
import {
  PROC_MEM_CODE_INJECTION_METADATA,
  ProcMemCodeInjection,
} from './proc_mem_code_injection.js';
import type { Signature } from './signature.js';

export { isProcfsMemOpen, openFlagsOf, PROCFS_MEM_PATH } from './procfs-mem.js';
export { ProcfsMemSignature } from './procfs-mem-signature.js';
export type * from './signature.js';
export {
  PROC_MEM_ACCESS_METADATA,
  PROC_MEM_CODE_INJECTION_METADATA,
  ProcMemAccess,
  ProcMemCodeInjection,
};

/** Fresh instances of the built-in signatures (TRC-1023, TRC-1024). */
export function builtinSignatures(): Signature[] {
  return [new ProcMemAccess(), new ProcMemCodeInjection()];
}
