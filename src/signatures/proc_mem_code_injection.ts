// TRC-1024: a process opened another process's memory for writing (MITRE T1055.009,
// Process Injection: Proc Memory). Metadata as in Tracee's proc_mem_code_injection.go.

import { deepFrozen } from '../deep-frozen.js';
import { isWriteAccess } from '../events/open-flags.js';
import { ProcfsMemSignature } from './procfs-mem-signature.js';
import type { SignatureMetadata } from './signature.js';

export const PROC_MEM_CODE_INJECTION_METADATA: SignatureMetadata = deepFrozen({
  ID: 'TRC-1024',
  Version: '1',
  Name: 'Code injection detected through /proc/<pid>/mem file',
  EventName: 'proc_mem_code_injection',
  Description:
    'Possible code injection into another process was detected. Code injection is an exploitation technique used to run malicious code, adversaries may use it in order to execute their malware.',
  Properties: {
    Severity: 3,
    Category: 'defense-evasion',
    Technique: 'Proc Memory',
    Kubernetes_Technique: '',
    id: 'attack-pattern--d201d4cc-214d-4a74-a1ba-b3fa09fd4591',
    external_id: 'T1055.009',
  },
});

export class ProcMemCodeInjection extends ProcfsMemSignature {
  protected readonly metadata = PROC_MEM_CODE_INJECTION_METADATA;

  /** O_WRONLY or O_RDWR. */
  protected accessMatches(flags: number): boolean {
    return isWriteAccess(flags);
  }
}
