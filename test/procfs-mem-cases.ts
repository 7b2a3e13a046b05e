// One table for both procfs mem signatures: each row says whether TRC-1023 (read access)
// and TRC-1024 (write access) fire. The signature tests beside each signature run it.

import type { TraceeEvent } from '../src/events/types.js';
import {
  capture,
  O_CLOEXEC,
  O_LARGEFILE,
  O_RDWR,
  O_WRONLY,
  openEvent,
  type SignatureCase,
  traceeEvent,
} from './helpers.js';

export interface ProcfsMemCase {
  name: string;
  event: TraceeEvent;
  /** TRC-1023 proc_mem_access fires. */
  read: boolean;
  /** TRC-1024 proc_mem_code_injection fires. */
  write: boolean;
}

const row = (name: string, event: TraceeEvent, read: boolean, write: boolean): ProcfsMemCase => ({
  name,
  event,
  read,
  write,
});
const path = (pathname: string) => openEvent({ pathname, flags: O_RDWR });

export const PROCFS_MEM_CASES: ProcfsMemCase[] = [
  // Access modes, raw flags, on /proc/1234/mem.
  row('O_RDONLY', openEvent({ flags: 0 }), true, false),
  row('O_WRONLY', openEvent({ flags: O_WRONLY }), false, true),
  row('O_RDWR', openEvent({ flags: O_RDWR }), true, true),
  row(
    'O_RDWR|O_CLOEXEC|O_LARGEFILE',
    openEvent({ flags: O_RDWR | O_CLOEXEC | O_LARGEFILE }),
    true,
    true,
  ),
  row('O_RDONLY|O_CLOEXEC', openEvent({ flags: O_CLOEXEC }), true, false),
  row('O_RDONLY|O_CLOEXEC|O_LARGEFILE', openEvent({ flags: O_CLOEXEC | O_LARGEFILE }), true, false),
  row('O_WRONLY|O_CLOEXEC', openEvent({ flags: O_WRONLY | O_CLOEXEC }), false, true),
  row(
    'O_WRONLY|O_CLOEXEC|O_LARGEFILE',
    openEvent({ flags: O_WRONLY | O_CLOEXEC | O_LARGEFILE }),
    false,
    true,
  ),
  // Tracee lines: parsed string flags and raw integers.
  row('string O_RDONLY|O_LARGEFILE', traceeEvent({ flags: 'O_RDONLY|O_LARGEFILE' }), true, false),
  row('string O_RDWR|O_CLOEXEC', traceeEvent({ flags: 'O_RDWR|O_CLOEXEC' }), true, true),
  row('string O_RDWR|O_LARGEFILE', traceeEvent({ flags: 'O_RDWR|O_LARGEFILE' }), true, true),
  row(
    'string O_WRONLY|O_CREAT|O_CLOEXEC',
    traceeEvent({ flags: 'O_WRONLY|O_CREAT|O_CLOEXEC' }),
    false,
    true,
  ),
  row('raw 32768 (O_RDONLY|O_LARGEFILE)', traceeEvent({ flags: 32768 }), true, false),
  row('raw 32769 (O_WRONLY|O_LARGEFILE)', traceeEvent({ flags: 32769 }), false, true),
  // Paths, opened O_RDWR so that a match fires both.
  row('/proc/<pid>/task/<tid>/mem', path('/proc/1234/task/1240/mem'), true, true),
  row('/proc/self/mem', path('/proc/self/mem'), true, true),
  row('/proc/self/task/<tid>/mem', path('/proc/self/task/7/mem'), true, true),
  row('/proc/thread-self/mem', path('/proc/thread-self/mem'), true, true),
  row('host /proc mounted at /host/proc', path('/host/proc/1/mem'), true, true),
  row('/proc/<pid>/maps', path('/proc/543/maps'), false, false),
  row('/proc/meminfo', path('/proc/meminfo'), false, false),
  row('/var/543/mem', path('/var/543/mem'), false, false),
  row('/proc/543/memx', path('/proc/543/memx'), false, false),
  row('/proc/543/mem/x', path('/proc/543/mem/x'), false, false),
  row('/proc/thread-self/task/1/mem', path('/proc/thread-self/task/1/mem'), false, false),
  row('/proc/abc/mem', path('/proc/abc/mem'), false, false),
  // The capture layer's mark: the kernel said procfs mem, whatever the path.
  row(
    'bind mount of /proc, marked, O_RDWR',
    openEvent({ pathname: '/mnt/p/1/mem', flags: O_RDWR, procmemGuard: capture }),
    true,
    true,
  ),
  row(
    'marked, O_WRONLY',
    openEvent({ pathname: '/mnt/p/1/mem', flags: O_WRONLY, procmemGuard: capture }),
    false,
    true,
  ),
  row(
    'marked, O_RDONLY',
    openEvent({ pathname: '/mnt/p/1/mem', flags: 0, procmemGuard: capture }),
    true,
    false,
  ),
  row(
    'procfsMem false, odd path',
    openEvent({
      pathname: '/mnt/p/1/mem',
      flags: O_RDWR,
      procmemGuard: { ...capture, procfsMem: false },
    }),
    false,
    false,
  ),
  // Other event names never fire.
  row('openat', openEvent({ eventName: 'openat', flags: O_RDWR }), false, false),
  row(
    'security_file_mprotect',
    openEvent({ eventName: 'security_file_mprotect', flags: O_RDWR }),
    false,
    false,
  ),
  row('magic_write', openEvent({ eventName: 'magic_write', flags: O_WRONLY }), false, false),
];

/** The table for one signature: `fires` from the read or the write column. */
export function casesFor(column: 'read' | 'write'): SignatureCase[] {
  return PROCFS_MEM_CASES.map((c) => ({ name: c.name, event: c.event, fires: c[column] }));
}
