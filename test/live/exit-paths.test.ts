// Every way `watch` can end leaves the host as it found it (issue 12): no procmem-guard audit
// rules, audit enabled and backlog limit as before, no audit state file, the process gone, and
// the documented exit code. Run for both backends (audit's with the host-state opt-in).
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_INTERNAL, EXIT_IO, EXIT_OK } from '../../src/cli/exit-codes.js';
import {
  changesHostState,
  liveName,
  runsHere,
  sleep,
  spawnTarget,
  waitFor,
} from '../helpers/live.js';
import {
  gone,
  type HostState,
  hostState,
  readMem,
  started,
  startWatch,
  type WatchProcess,
} from '../helpers/watch-process.js';

// Injects JavaScript faults into watch from outside: SIGUSR2 throws (an uncaught exception),
// SIGWINCH rejects a promise nobody handles. No hook in procmem-guard itself.
const faults = fileURLToPath(new URL('../fixtures/inject-faults.mjs', import.meta.url));

/** One mem read of a fresh target, so that watch has a finding to write. */
async function readOnce(): Promise<void> {
  const target = spawnTarget();
  try {
    await readMem(target.pid);
  } finally {
    target.kill();
  }
}

interface Case {
  name: string;
  stdout?: () => number;
  end: (w: WatchProcess) => Promise<void> | void;
  code: number;
  stderr: RegExp;
}

const CASES: Case[] = [
  {
    name: 'SIGINT',
    end: (w) => void w.child.kill('SIGINT'),
    code: EXIT_OK,
    stderr: /stopped on SIGINT/,
  },
  {
    name: 'SIGTERM',
    end: (w) => void w.child.kill('SIGTERM'),
    code: EXIT_OK,
    stderr: /stopped on SIGTERM/,
  },
  {
    name: 'SIGHUP (reloads and keeps watching), then SIGTERM',
    end: async (w) => {
      w.child.kill('SIGHUP');
      await waitFor('the reload', () => w.err().includes('SIGHUP: configuration reloaded'));
      expect(w.child.exitCode).toBe(null);
      w.child.kill('SIGTERM');
    },
    code: EXIT_OK,
    stderr: /stopped on SIGTERM/,
  },
  {
    name: 'a closed stdout',
    end: async (w) => {
      w.child.stdout?.destroy();
      // Our end of the pipe closes asynchronously: a first finding may still fit the pipe, so
      // read again until a write meets the closed pipe (bounded).
      for (let i = 0; i < 50 && w.child.exitCode === null; i++) {
        await readOnce();
        await sleep(100);
      }
    },
    code: EXIT_OK,
    stderr: /stopped on a closed standard output/,
  },
  {
    name: 'a failed stdout (/dev/full)',
    stdout: () => openSync('/dev/full', 'w'),
    end: readOnce,
    code: EXIT_IO,
    stderr: /stopped on a standard output error \(ENOSPC/,
  },
  {
    name: 'an uncaught exception',
    end: (w) => void w.child.kill('SIGUSR2'),
    code: EXIT_INTERNAL,
    stderr: /stopped on an internal error[\s\S]*internal error: Error: injected uncaught exception/,
  },
  {
    name: 'an unhandled rejection',
    end: (w) => void w.child.kill('SIGWINCH'),
    code: EXIT_INTERNAL,
    stderr: /stopped on an internal error[\s\S]*injected unhandled rejection/,
  },
];

describe('watch leaves the host as it found it', () => {
  for (const backend of ['fanotify', 'audit']) {
    const changes = changesHostState(backend);
    it.skipIf(!runsHere(changes)).each(CASES.map((c) => [c.name, c] as const))(
      liveName(`${backend}: %s`, changes),
      async (_name, c) => {
        const before: HostState = hostState();
        const w = startWatch(['--backend', backend], {
          nodeArgs: ['--import', faults],
          stdout: c.stdout?.(),
        });
        try {
          await started(w);
          if (backend === 'audit') expect(hostState().rules).toBeGreaterThan(0);
          await c.end(w);
          const { code } = await w.exited;
          expect(w.err()).toMatch(c.stderr);
          expect(code).toBe(c.code);
          expect(gone(w.child.pid as number)).toBe(true);
          expect(hostState()).toEqual(before);
        } finally {
          w.child.kill('SIGKILL');
        }
      },
    );
  }
});
