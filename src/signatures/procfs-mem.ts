// What counts as a procfs mem file, shared by TRC-1023 and TRC-1024.

import { parseOpenFlags } from '../events/open-flags.js';
import type { SecurityFileOpenEvent } from '../events/types.js';

/**
 * Paths that name a process's memory file:
 *   /proc/<pid>/mem, /proc/<pid>/task/<tid>/mem, /proc/self/mem, /proc/self/task/<tid>/mem,
 *   /proc/thread-self/mem.
 * `self` is included on purpose: writing one's own code through /proc/self/mem bypasses
 * page protections and is an injection and evasion technique in its own right; the capture
 * mark's targetPid lets consumers tell self access apart.
 * A leading mount prefix is allowed (`/host/proc/1/mem` for a host /proc mounted into a
 * container), as Tracee's unanchored `/proc/(?:\d.+)/mem$` allows it. Not matched:
 * /proc/<pid>/maps, /proc/meminfo, /var/543/mem, /proc/543/memx.
 */
export const PROCFS_MEM_PATH =
  /^(?:\/[^/]+)*\/proc\/(?:(?:\d+|self)(?:\/task\/\d+)?|thread-self)\/mem$/;

/**
 * The event opened a procfs mem file: the capture layer said so (the kernel identified the
 * file, whatever path it was reached by, e.g. through a bind mount of /proc), or its
 * pathname has the shape of one.
 */
export function isProcfsMemOpen(event: SecurityFileOpenEvent): boolean {
  if (event.procmemGuard?.procfsMem === true) return true;
  const path = event.args[0].value;
  // endsWith first: nearly every path in a stream fails it, far cheaper than the regex.
  return path.endsWith('/mem') && PROCFS_MEM_PATH.test(path);
}

/** The open flags of a security_file_open event as an integer (raw or Tracee's string form). */
export function openFlagsOf(event: SecurityFileOpenEvent): number {
  return parseOpenFlags(event.args[1].value);
}
