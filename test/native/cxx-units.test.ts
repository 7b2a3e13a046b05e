// The kernel-free C++ unit tests (test/native/cpp/*_test.cc, CHECK from check.h): each row is
// one test program and the native/ sources it links, built under ASan and UBSan and run by
// test/helpers/cxx.ts.
import { expect, it } from 'vitest';
import { runCxxTest } from '../helpers/cxx.js';

it.each([
  [
    'audit records: parses records and bounds incomplete events',
    ['test/native/cpp/audit_parse_test.cc', 'native/audit/records.cc'],
  ],
  [
    'audit state file: parses strictly and never accepts values that must not reach the kernel',
    ['test/native/cpp/state_file_test.cc', 'native/audit/state_file.cc'],
  ],
  [
    "FloodGuard: folds a flooder's opens over its budget, counts them, and leaves other uids alone",
    ['test/native/cpp/flood_guard_test.cc', 'native/util/flood_guard.cc'],
  ],
  [
    'IoTable: per-opener, per-file io counts for fanotify, one summary each, bounded; task stat lines',
    [
      'test/native/cpp/io_table_test.cc',
      'native/fanotify/io_table.cc',
      'native/util/task_stat.cc',
      'native/util/proc_files.cc',
    ],
  ],
  [
    'mem paths: reads <pid>/mem and <pid>/task/<tid>/mem, self names only where they name the opener',
    [
      'test/native/cpp/mem_path_test.cc',
      'native/util/mem_path.cc',
      'native/fanotify/event_path.cc',
      'native/util/mountinfo.cc',
      'native/util/proc_files.cc',
    ],
  ],
  [
    'mountinfo: reads lines, unescapes paths, skips lines that are not mountinfo',
    ['test/native/cpp/mountinfo_test.cc', 'native/util/mountinfo.cc', 'native/util/proc_files.cc'],
  ],
  [
    "PendingFlags: waits for the fd, the opener's progress or a write-close, never guesses from time, stays bounded",
    ['test/native/cpp/pending_flags_test.cc', 'native/fanotify/pending_flags.cc'],
  ],
  [
    'StormCoalescer: pauses only while wake-ups come closer than the gap; a quiet host never pauses',
    ['test/native/cpp/storm_coalescer_test.cc'],
  ],
  [
    'target relation: relates opener and target through their parent chains, bounded, never guessing',
    ['test/native/cpp/target_relation_test.cc', 'native/proc/target_relation.cc'],
  ],
])('%s', (_name, sources) => {
  const run = runCxxTest(sources);
  expect(run.output).toMatch(/^ok \d+ checks passed/);
  expect(run.status).toBe(0);
});
