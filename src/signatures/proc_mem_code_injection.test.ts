import { describe, expect, it } from 'vitest';
import { findingsOf, openEvent, type SignatureCase, traceeEvent } from '../../test/helpers.js';
import {
  PROC_MEM_CODE_INJECTION_METADATA,
  ProcMemCodeInjection,
} from './proc_mem_code_injection.js';

const O_WRONLY = 0o1;
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;
const O_LARGEFILE = 0o100000;
const capture = { procfsMem: true, flagsSource: 'fdinfo' } as const;

const cases: SignatureCase[] = [
  { name: 'O_WRONLY of /proc/<pid>/mem', event: openEvent({ flags: O_WRONLY }), fires: true },
  { name: 'O_RDWR of /proc/<pid>/mem', event: openEvent({ flags: O_RDWR }), fires: true },
  {
    name: 'O_RDWR|O_CLOEXEC|O_LARGEFILE',
    event: openEvent({ flags: O_RDWR | O_CLOEXEC | O_LARGEFILE }),
    fires: true,
  },
  { name: 'O_WRONLY|O_CLOEXEC', event: openEvent({ flags: O_WRONLY | O_CLOEXEC }), fires: true },
  { name: 'O_RDONLY', event: openEvent({ flags: 0 }), fires: false },
  {
    name: 'O_RDONLY|O_CLOEXEC|O_LARGEFILE',
    event: openEvent({ flags: O_CLOEXEC | O_LARGEFILE }),
    fires: false,
  },
  {
    name: 'string flags O_WRONLY|O_CREAT|O_CLOEXEC',
    event: traceeEvent({ flags: 'O_WRONLY|O_CREAT|O_CLOEXEC' }),
    fires: true,
  },
  {
    name: 'string flags O_RDWR|O_LARGEFILE',
    event: traceeEvent({ flags: 'O_RDWR|O_LARGEFILE' }),
    fires: true,
  },
  {
    name: 'string flags O_RDONLY|O_LARGEFILE',
    event: traceeEvent({ flags: 'O_RDONLY|O_LARGEFILE' }),
    fires: false,
  },
  { name: 'raw flags 32769 from Tracee', event: traceeEvent({ flags: 32769 }), fires: true },
  {
    name: '/proc/<pid>/task/<tid>/mem',
    event: openEvent({ pathname: '/proc/1234/task/1240/mem', flags: O_RDWR }),
    fires: true,
  },
  {
    name: '/proc/self/mem',
    event: openEvent({ pathname: '/proc/self/mem', flags: O_WRONLY }),
    fires: true,
  },
  {
    name: '/proc/thread-self/mem',
    event: openEvent({ pathname: '/proc/thread-self/mem', flags: O_WRONLY }),
    fires: true,
  },
  {
    name: '/proc/<pid>/maps',
    event: openEvent({ pathname: '/proc/543/maps', flags: O_RDWR }),
    fires: false,
  },
  {
    name: '/proc/meminfo',
    event: openEvent({ pathname: '/proc/meminfo', flags: O_RDWR }),
    fires: false,
  },
  {
    name: '/var/543/mem',
    event: openEvent({ pathname: '/var/543/mem', flags: O_RDWR }),
    fires: false,
  },
  {
    name: '/proc/543/memx',
    event: openEvent({ pathname: '/proc/543/memx', flags: O_RDWR }),
    fires: false,
  },
  {
    name: 'bind mount of /proc, marked by the capture layer',
    event: openEvent({ pathname: '/srv/p/1/mem', flags: O_RDWR, procmemGuard: capture }),
    fires: true,
  },
  {
    name: 'capture mark on a read-only open',
    event: openEvent({ pathname: '/srv/p/1/mem', flags: 0, procmemGuard: capture }),
    fires: false,
  },
  {
    name: 'other event name (openat)',
    event: openEvent({ eventName: 'openat', flags: O_RDWR }),
    fires: false,
  },
  {
    name: 'other event name (magic_write)',
    event: openEvent({ eventName: 'magic_write', flags: O_WRONLY }),
    fires: false,
  },
];

describe('TRC-1024 proc_mem_code_injection', () => {
  it.each(cases)('$name → fires: $fires', ({ event, fires }) => {
    const findings = findingsOf(new ProcMemCodeInjection(), event);
    expect(findings).toHaveLength(fires ? 1 : 0);
    if (fires) {
      expect(findings[0]).toEqual({
        sigMetadata: PROC_MEM_CODE_INJECTION_METADATA,
        event,
        data: null,
      });
    }
  });

  it("has Tracee's metadata", () => {
    const metadata = new ProcMemCodeInjection().getMetadata();
    expect(metadata).toMatchObject({
      ID: 'TRC-1024',
      Version: '1',
      Name: 'Code injection detected through /proc/<pid>/mem file',
      EventName: 'proc_mem_code_injection',
      Properties: {
        Severity: 3,
        Category: 'defense-evasion',
        Technique: 'Proc Memory',
        Kubernetes_Technique: '',
        id: 'attack-pattern--d201d4cc-214d-4a74-a1ba-b3fa09fd4591',
        external_id: 'T1055.009',
      },
    });
    expect(metadata.Description).toMatch(/code injection/i);
    expect(Object.isFrozen(metadata.Properties)).toBe(true);
  });
});
