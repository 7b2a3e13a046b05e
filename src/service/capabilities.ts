// The capabilities each backend needs for complete capture (other users' processes, other
// namespaces, the exec marks, the process table), as measured by scripts/measure-caps.mjs:
// a non-root uid under setpriv holding a set, dropping one capability at a time.

import { readFileSync } from 'node:fs';

/** Capability name → bit (linux/capability.h). */
const BITS = {
  CAP_DAC_OVERRIDE: 1,
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_AUDIT_CONTROL: 30,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;
export type CapabilityName = keyof typeof BITS;

export interface Requirement {
  cap: CapabilityName;
  why: string;
  /** Needed only by a process that is not uid 0. */
  nonRootOnly?: boolean;
}

export const REQUIRED_CAPABILITIES: Record<'ebpf' | 'fanotify' | 'audit', Requirement[]> = {
  ebpf: [
    { cap: 'CAP_BPF', why: 'loading the BPF programs and maps' },
    { cap: 'CAP_PERFMON', why: 'attaching tracepoint programs that read kernel memory' },
    { cap: 'CAP_NET_ADMIN', why: 'the process table: proc connector and taskstats exit records' },
  ],
  fanotify: [
    { cap: 'CAP_SYS_ADMIN', why: 'fanotify_init and filesystem marks on every procfs' },
    {
      cap: 'CAP_SYS_PTRACE',
      why: "the kernel opens each event's mem file and fdinfo with our credentials (other users' processes)",
    },
    { cap: 'CAP_NET_ADMIN', why: 'the process table: proc connector and taskstats exit records' },
  ],
  audit: [
    { cap: 'CAP_AUDIT_CONTROL', why: 'audit status and rules (AUDIT_GET, AUDIT_ADD_RULE)' },
    { cap: 'CAP_AUDIT_READ', why: 'the audit multicast group, beside a running audit daemon' },
    { cap: 'CAP_SYS_PTRACE', why: "the process table reads other users' /proc/<pid> entries" },
    { cap: 'CAP_NET_ADMIN', why: 'the process table: proc connector and taskstats exit records' },
    {
      cap: 'CAP_DAC_OVERRIDE',
      why: 'the root-owned state directory /run/procmem-guard (crash recovery)',
      nonRootOnly: true,
    },
  ],
};

/** The union, for units and manifests that may run either backend (auto). */
export const SERVICE_CAPABILITIES: CapabilityName[] = [
  ...new Set(Object.values(REQUIRED_CAPABILITIES).flatMap((rs) => rs.map((r) => r.cap))),
].sort();

/** The effective capability set of this process (/proc/self/status CapEff). */
export function effectiveCapabilities(
  status = readFileSync('/proc/self/status', 'utf8'),
): Set<CapabilityName> {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const mask = BigInt(`0x${hex}`);
  const out = new Set<CapabilityName>();
  for (const [name, bit] of Object.entries(BITS))
    if ((mask >> BigInt(bit)) & 1n) out.add(name as CapabilityName);
  return out;
}

/** What `backend` needs that `have` lacks, for this uid. */
export function missingCapabilities(
  backend: 'ebpf' | 'fanotify' | 'audit',
  have: Set<CapabilityName>,
  euid: number,
): Requirement[] {
  return REQUIRED_CAPABILITIES[backend].filter(
    (r) => !have.has(r.cap) && !(r.nonRootOnly && euid === 0),
  );
}
