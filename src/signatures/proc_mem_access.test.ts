import { describe, expect, it } from 'vitest';
import { findingsOf, openEvent, type SignatureCase, traceeEvent } from '../../test/helpers.js';
import { PROC_MEM_ACCESS_METADATA, ProcMemAccess } from './proc_mem_access.js';

const O_WRONLY = 0o1;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;
const O_LARGEFILE = 0o100000;
const capture = { procfsMem: true, flagsSource: 'fdinfo' } as const;

const cases: SignatureCase[] = [
  { name: 'O_RDONLY of /proc/<pid>/mem', event: openEvent({ flags: 0 }), fires: true },
  { name: 'O_RDWR of /proc/<pid>/mem', event: openEvent({ flags: O_RDWR }), fires: true },
  {
    name: 'O_RDWR|O_CLOEXEC|O_LARGEFILE',
    event: openEvent({ flags: O_RDWR | O_CLOEXEC | O_LARGEFILE }),
    fires: true,
  },
  { name: 'O_RDONLY|O_CLOEXEC', event: openEvent({ flags: O_CLOEXEC }), fires: true },
  { name: 'O_WRONLY', event: openEvent({ flags: O_WRONLY }), fires: false },
  {
    name: 'O_WRONLY|O_CLOEXEC|O_LARGEFILE',
    event: openEvent({ flags: O_WRONLY | O_CLOEXEC | O_LARGEFILE }),
    fires: false,
  },
  {
    name: 'string flags O_RDONLY|O_LARGEFILE',
    event: traceeEvent({ flags: 'O_RDONLY|O_LARGEFILE' }),
    fires: true,
  },
  {
    name: 'string flags O_RDWR|O_CLOEXEC',
    event: traceeEvent({ flags: 'O_RDWR|O_CLOEXEC' }),
    fires: true,
  },
  {
    name: 'string flags O_WRONLY|O_CREAT|O_CLOEXEC',
    event: traceeEvent({ flags: 'O_WRONLY|O_CREAT|O_CLOEXEC' }),
    fires: false,
  },
  { name: 'raw flags 32768 from Tracee', event: traceeEvent({ flags: 32768 }), fires: true },
  {
    name: '/proc/<pid>/task/<tid>/mem',
    event: openEvent({ pathname: '/proc/1234/task/1240/mem' }),
    fires: true,
  },
  { name: '/proc/self/mem', event: openEvent({ pathname: '/proc/self/mem' }), fires: true },
  {
    name: '/proc/self/task/<tid>/mem',
    event: openEvent({ pathname: '/proc/self/task/7/mem' }),
    fires: true,
  },
  {
    name: '/proc/thread-self/mem',
    event: openEvent({ pathname: '/proc/thread-self/mem' }),
    fires: true,
  },
  {
    name: 'host /proc mounted at /host/proc',
    event: openEvent({ pathname: '/host/proc/1/mem' }),
    fires: true,
  },
  { name: '/proc/<pid>/maps', event: openEvent({ pathname: '/proc/543/maps' }), fires: false },
  { name: '/proc/meminfo', event: openEvent({ pathname: '/proc/meminfo' }), fires: false },
  { name: '/var/543/mem', event: openEvent({ pathname: '/var/543/mem' }), fires: false },
  { name: '/proc/543/memx', event: openEvent({ pathname: '/proc/543/memx' }), fires: false },
  { name: '/proc/543/mem/x', event: openEvent({ pathname: '/proc/543/mem/x' }), fires: false },
  {
    name: '/proc/thread-self/task/1/mem',
    event: openEvent({ pathname: '/proc/thread-self/task/1/mem' }),
    fires: false,
  },
  { name: '/proc/abc/mem', event: openEvent({ pathname: '/proc/abc/mem' }), fires: false },
  {
    name: 'bind mount of /proc, marked by the capture layer',
    event: openEvent({ pathname: '/mnt/p/1234/mem', procmemGuard: capture }),
    fires: true,
  },
  {
    name: 'capture mark on a write-only open',
    event: openEvent({ pathname: '/mnt/p/1234/mem', flags: O_WRONLY, procmemGuard: capture }),
    fires: false,
  },
  {
    name: 'capture mark procfsMem false, odd path',
    event: openEvent({
      pathname: '/mnt/p/1234/mem',
      procmemGuard: { ...capture, procfsMem: false },
    }),
    fires: false,
  },
  { name: 'other event name (openat)', event: openEvent({ eventName: 'openat' }), fires: false },
  {
    name: 'other event name (security_file_mprotect)',
    event: openEvent({ eventName: 'security_file_mprotect' }),
    fires: false,
  },
];

describe('TRC-1023 proc_mem_access', () => {
  it.each(cases)('$name → fires: $fires', ({ event, fires }) => {
    const findings = findingsOf(new ProcMemAccess(), event);
    expect(findings).toHaveLength(fires ? 1 : 0);
    if (fires)
      expect(findings[0]).toEqual({ sigMetadata: PROC_MEM_ACCESS_METADATA, event, data: null });
  });

  it("has Tracee's metadata", () => {
    expect(new ProcMemAccess().getMetadata()).toEqual({
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
  });

  it('selects security_file_open from any origin', () => {
    expect(new ProcMemAccess().getSelectedEvents()).toEqual([
      { source: 'tracee', name: 'security_file_open', origin: '*' },
    ]);
  });

  it('refuses events before init', () => {
    expect(() => new ProcMemAccess().onEvent(openEvent({}))).toThrow(/before init/);
  });
});
