// Every way `watch` can end leaves the host as it found it (issue 12): no procmem-guard audit
// rules, audit enabled and backlog limit as before, no audit state file, the process gone, and
// the documented exit code. Signals, stdout and JavaScript faults run for fanotify and audit
// (audit's with the host-state opt-in); a fatal error in the addon for every backend, through
// watch and through the API.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_INTERNAL, EXIT_IO, EXIT_OK } from '../../src/cli/exit-codes.js';
import { track } from '../helpers/children.js';
import {
  captureResources,
  changesHostState,
  itBackends,
  liveName,
  run,
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

/**
 * Mem reads, one every 100 ms (at most 50), until `done()`: what makes watch write a finding
 * (to a closed stdout) or wake fanotify's thread, which sleeps in ppoll until an event.
 */
async function wakeUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    await readOnce();
    await sleep(100);
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
      await wakeUntil(() => w.child.exitCode !== null);
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

// A fatal error in the addon, caused for real from outside the process: the soft RLIMIT_NOFILE
// of the running watcher is lowered to 1 (prlimit(2), what any process with CAP_SYS_RESOURCE,
// or the same uid, may do to another). The kernel then refuses the capture thread's next
// poll()/ppoll() of its two or three fds with EINVAL (poll(2): nfds exceeds RLIMIT_NOFILE), and
// every backend's thread ends on that ("fanotify capture thread stopped: poll: ...", "audit
// backend: poll: ...", "eBPF backend: poll: ..."). No hook in procmem-guard. Stopping must then
// work without opening anything new: the audit backend undoes its kernel state through the
// socket and state directory fd it already holds.
const starveFds = (pid: number) => run('prlimit', [`--pid=${pid}`, '--nofile=1:']);
const fatalWatcher = fileURLToPath(new URL('../fixtures/fatal-watcher.mjs', import.meta.url));

describe('a fatal error in the addon (the capture thread stops)', () => {
  const backends = ['ebpf', 'fanotify', 'audit'] as const;

  itBackends(
    backends,
    '%s: watch stops capture, prints its summary, exits 1, host as found',
    async (backend) => {
      const before = hostState();
      const w = startWatch(['--backend', backend]);
      try {
        await started(w);
        await starveFds(w.child.pid as number);
        await wakeUntil(() => w.child.exitCode !== null);
        const { code } = await w.exited;
        // The thread's own message, with one prefix (issue 12, row 13).
        expect(w.err()).toMatch(
          /^procmem-guard: (fanotify capture thread stopped|audit backend|eBPF backend): poll: Invalid argument$/m,
        );
        expect(w.err()).toMatch(
          new RegExp(`stopped on a capture error: backend ${backend}, kernel events \\d+`),
        );
        expect(code).toBe(EXIT_FAILURE);
        expect(gone(w.child.pid as number)).toBe(true);
        expect(hostState()).toEqual(before);
      } finally {
        w.child.kill('SIGKILL');
      }
    },
  );

  itBackends(
    backends,
    '%s: ProcMemWatcher.stop() after it leaves no capture fd or thread',
    async (backend) => {
      const before = hostState();
      const child = track(spawn(process.execPath, [fatalWatcher, backend], { stdio: 'pipe' }));
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      try {
        await waitFor('the child', () => out.includes('ready'), 20_000);
        const idle = captureResources(child.pid);
        child.stdin.write('go\n');
        await waitFor(
          'capture to start',
          () => out.includes('started') || child.exitCode !== null,
          20_000,
        );
        expect(captureResources(child.pid).threads.length).toBeGreaterThan(idle.threads.length);
        await starveFds(child.pid as number);
        await wakeUntil(() => out.includes('stopped'));
        expect(out).toMatch(/stopped .*poll: Invalid argument/);
        expect(captureResources(child.pid)).toEqual(idle);
        expect(hostState()).toEqual(before);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );
});
