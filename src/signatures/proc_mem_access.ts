// TRC-1023: a process opened another process's memory for reading (MITRE T1003.007,
// OS Credential Dumping: Proc Filesystem). Metadata as in Tracee's proc_mem_access.go.

import { deepFrozen } from '../deep-frozen.js';
import { isReadAccess } from '../events/open-flags.js';
import { ProcfsMemSignature } from './procfs-mem-signature.js';
import type { SignatureMetadata } from './signature.js';

export const PROC_MEM_ACCESS_METADATA: SignatureMetadata = deepFrozen({
  ID: 'TRC-1023',
  Version: '1',
  Name: 'Process memory access detected',
  EventName: 'proc_mem_access',
  Description:
    'Process memory access detected. Adversaries may access other processes memory to steal credentials and secrets.',
  Properties: {
    Severity: 3,
    Category: 'credential-access',
    Technique: 'Proc Filesystem',
    Kubernetes_Technique: '',
    id: 'attack-pattern--3120b9fa-23b8-4500-ae73-09494f607b7d',
    external_id: 'T1003.007',
  },
});

export class ProcMemAccess extends ProcfsMemSignature {
  protected readonly metadata = PROC_MEM_ACCESS_METADATA;

  /** O_RDONLY or O_RDWR. */
  protected accessMatches(flags: number): boolean {
    return isReadAccess(flags);
  }
}
