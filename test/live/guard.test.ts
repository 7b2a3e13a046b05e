// Guard mode against the real kernel (README "Guard mode"): the eBPF backend kills, at the
// completion of the open, an opener of another process's mem file that no exception allows
// (open/openat and io_uring IORING_OP_OPENAT, completed inline or by an io-wq worker);
// gdb on its own inferior goes on; the dry run only marks; self-reads and the watcher are never
// killed; a dead watcher enforces nothing (fail-open) and leaves no BPF program behind.
// Host pid 1 and kernel threads as openers cannot be staged safely here: the kernel-free test
// of the decision covers them (test/native/guard-decide.test.ts).
// Host state (test/helpers/live.ts): while a guard-mode watcher runs, any process on the host
// that opens another process's mem file is killed, not only the tests' helpers.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityFileOpenEvent } from '../../src/events/types.js';
import { type EnforceOption, loadPolicy, PolicyError } from '../../src/index.js';
import type { Finding } from '../../src/signatures/signature.js';
import { CaptureError } from '../../src/watcher/errors.js';
import { ProcMemWatcher } from '../../src/watcher/watcher.js';
import {
  captureResources,
  cHelper,
  liveName,
  ourBpfPrograms,
  runsHere,
  runToExit,
  spawnTarget,
  waitFor,
} from '../helpers/live.js';
import { gone, started, startWatch } from '../helpers/watch-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const guardPolicy = join(root, 'docs/policies/guard.yaml');
const reportingPolicy = join(root, 'docs/policies/legitimate-openers.yaml');
const ELF_MAGIC = '7f454c46';

interface Guarded {
  watcher: ProcMemWatcher;
  events: SecurityFileOpenEvent[];
  findings: Finding[];
}

async function startGuard(enforce: EnforceOption): Promise<Guarded> {
  const watcher = new ProcMemWatcher({ backend: 'ebpf', enforce, policy: guardPolicy });
  const g: Guarded = { watcher, events: [], findings: [] };
  watcher.on('event', (e) => g.events.push(e));
  watcher.on('finding', (f) => g.findings.push(f));
  watcher.on('error', () => undefined); // warnings (e.g. io_uring not covered) are not failures
  await watcher.start();
  return g;
}

/** The first address of `pid`'s first mapping: its executable's ELF header. */
function firstMapping(pid: number): number {
  return Number.parseInt(readFileSync(`/proc/${pid}/maps`, 'utf8').split('-')[0] as string, 16);
}

describe.skipIf(!runsHere(true))(liveName('guard mode (ebpf)', true), () => {
  let readMem: string;
  let uringOpen: string;
  let target: ReturnType<typeof spawnTarget>;
  beforeAll(() => {
    readMem = cHelper('read_mem', { flags: ['-pthread'] });
    uringOpen = cHelper('uring_open');
    target = spawnTarget();
  });
  /** uring_open's arguments: open the target's mem file, then read its ELF header and print. */
  const uringRead = (...mode: string[]) => [
    `/proc/${target.pid}/mem`,
    '0',
    firstMapping(target.pid).toString(16),
    ...mode,
  ];
  afterAll(() => {
    target?.kill();
  });

  describe('--enforce with docs/policies/guard.yaml (library API)', () => {
    let g: Guarded;
    beforeAll(async () => {
      g = await startGuard(true);
    });
    afterAll(async () => {
      await g?.watcher.stop();
    });
    const findingsOf = (pid: number) => g.findings.filter((f) => f.event.hostProcessId === pid);

    it("kills a helper reading another process's memory before it prints anything", async () => {
      const before = g.watcher.stats().enforcement.killed;
      const r = await runToExit(readMem, [String(target.pid)]);
      expect(r.signal).toBe('SIGKILL');
      expect(r.stdout).toBe('');
      const f = await waitFor('the finding of the killed helper', () => findingsOf(r.pid)[0]);
      expect(f.sigMetadata.ID).toBe('TRC-1023');
      expect(f.event.procmemGuard?.action).toBe('killed');
      expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
      const s = g.watcher.stats().enforcement;
      expect(s.mode).toBe('enforce');
      expect(s.killed).toBeGreaterThan(before);
      expect(s.exceptionsInKernel).toBeGreaterThan(0);
      // The victim target is untouched.
      expect(gone(target.pid)).toBe(false);
    });

    // io_uring opens are decided at tp_btf/io_uring_complete, in whichever task completes the
    // request: the submitter itself when the open succeeds without blocking (every dentry of
    // the path cached), else an io-wq worker thread of the submitter's process (iou-wrk-PID).
    // bpf_send_signal signals the thread group either way, before the completion is posted.
    it('kills an io_uring opener (completed in io_uring_enter) before it reads through the fd', async () => {
      // Warm the dentries (this process's opens are not decided): the open completes inline.
      closeSync(openSync(`/proc/${target.pid}/mem`, 'r'));
      const r = await runToExit(uringOpen, uringRead());
      expect(r.signal).toBe('SIGKILL');
      expect(r.stdout).toBe('');
      const f = await waitFor(
        'the finding of the killed io_uring opener',
        () => findingsOf(r.pid)[0],
      );
      expect(f.sigMetadata.ID).toBe('TRC-1023');
      expect(f.event.syscall).toBe('io_uring_enter');
      expect(f.event.procmemGuard?.notes).toContain('io-uring');
      expect(f.event.procmemGuard?.action).toBe('killed');
      expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
      expect(f.event.hostThreadId).toBe(r.pid); // completed by the submitting thread
      expect(gone(target.pid)).toBe(false);
    });

    it('kills an io_uring opener whose open an io-wq worker completes (IOSQE_ASYNC)', async () => {
      const r = await runToExit(uringOpen, uringRead('async'));
      expect(r.signal).toBe('SIGKILL');
      expect(r.stdout).toBe('');
      const f = await waitFor(
        'the finding of the killed io_uring opener',
        () => findingsOf(r.pid)[0],
      );
      expect(f.event.procmemGuard?.notes).toContain('io-uring');
      expect(f.event.procmemGuard?.action).toBe('killed');
      // The kernel's current was the worker thread: the event names it, not the submitter.
      expect(f.event.hostThreadId).not.toBe(r.pid);
      expect(f.event.processName).toBe(`iou-wrk-${r.pid}`);
    });

    it('lets gdb debug its own inferior untouched', async () => {
      const r = await runToExit('gdb', [
        '-nx',
        '-batch',
        '-ex',
        'starti',
        '-ex',
        'x/4xb $pc',
        '/usr/bin/true',
      ]);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      // x/4xb prints an address and four bytes read from the inferior's memory.
      expect(r.stdout).toMatch(
        /0x[0-9a-f]+[^\n]*:\s+0x[0-9a-f]{2}\s+0x[0-9a-f]{2}\s+0x[0-9a-f]{2}\s+0x[0-9a-f]{2}/,
      );
      // gdb did open the mem file (the capture saw it), and nothing was done to it.
      const opened = await waitFor('gdb opening its inferior', () =>
        g.events.filter((e) => e.hostProcessId === r.pid),
      );
      expect(opened.length).toBeGreaterThan(0);
      expect(opened.map((e) => e.procmemGuard?.action)).toEqual(opened.map(() => undefined));
    });

    it('never kills a process reading its own memory', async () => {
      const r = await runToExit(readMem, ['self']);
      expect(r.signal).toBeNull();
      expect(r.stdout).toBe(`read ${ELF_MAGIC}\n`);
      const e = await waitFor('the self-read event', () =>
        g.events.find((x) => x.hostProcessId === r.pid),
      );
      expect(e.procmemGuard?.action).toBeUndefined();
    });

    it('never kills a thread reading its own process through /proc/<its tid>/mem', async () => {
      const r = await runToExit(readMem, ['tid']);
      expect(r.signal).toBeNull();
      expect(r.stdout).toBe(`read ${ELF_MAGIC}\n`);
    });

    it('never kills the watcher: this process reads another process while hosting it', async () => {
      const killed = g.watcher.stats().enforcement.killed;
      const fd = openSync(`/proc/${target.pid}/mem`, 'r');
      const buf = Buffer.alloc(4);
      try {
        readSync(fd, buf, 0, 4, firstMapping(target.pid));
      } finally {
        closeSync(fd);
      }
      expect(buf.toString('hex')).toBe(ELF_MAGIC);
      // The kernel filters the watcher's own opens before the decision. Barrier: a helper's
      // open made after ours, killed and reported; ours would have come first.
      const barrier = await runToExit(readMem, [String(target.pid)]);
      expect(barrier.signal).toBe('SIGKILL');
      await waitFor('the barrier finding', () => findingsOf(barrier.pid)[0]);
      expect(g.watcher.stats().enforcement.killed).toBe(killed + 1);
      expect(g.events.filter((e) => e.hostProcessId === process.pid)).toEqual([]);
    });

    it('keeps the running table when a reload brings a policy the kernel cannot decide', () => {
      const before = g.watcher.stats().enforcement.exceptionsInKernel;
      expect(() => g.watcher.setPolicy(reportingPolicy)).toThrow(PolicyError);
      expect(g.watcher.stats().enforcement.exceptionsInKernel).toBe(before);
      expect(g.watcher.stats().policy.policy?.source).toBe(guardPolicy);
    });
  });

  it('--enforce=dry-run leaves the helpers (open, io_uring open) alive and reports would-kill', async () => {
    const g = await startGuard('dry-run');
    try {
      const r = await runToExit(readMem, [String(target.pid)]);
      expect(r.signal).toBeNull();
      expect(r.stdout).toBe(`read ${ELF_MAGIC}\n`);
      const f = await waitFor('the dry-run finding', () =>
        g.findings.find((x) => x.event.hostProcessId === r.pid),
      );
      expect(f.event.procmemGuard?.action).toBe('would-kill');
      for (const mode of [[], ['async']]) {
        const u = await runToExit(uringOpen, uringRead(...mode));
        expect(u.signal).toBeNull();
        expect(u.stdout).toMatch(new RegExp(`^res=\\d+ read ${ELF_MAGIC}\n$`));
        const uf = await waitFor('the dry-run io_uring finding', () =>
          g.findings.find((x) => x.event.hostProcessId === u.pid),
        );
        expect(uf.event.procmemGuard?.notes).toContain('io-uring');
        expect(uf.event.procmemGuard?.action).toBe('would-kill');
      }
      const s = g.watcher.stats().enforcement;
      expect(s.mode).toBe('dry-run');
      expect(s.wouldKill).toBeGreaterThanOrEqual(3); // host-wide: other openers count too
      expect(s.killed).toBe(0);
    } finally {
      await g.watcher.stop();
    }
  });

  it('refuses to enforce with a backend that cannot (ENFORCE_UNAVAILABLE), never pretending', async () => {
    const w = new ProcMemWatcher({ backend: 'fanotify', enforce: true, policy: guardPolicy });
    const err = await w.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('ENFORCE_UNAVAILABLE');
    expect((err as CaptureError).message).toMatch(/needs the eBPF backend/);
    expect(w.running).toBe(false);
    expect(captureResources().fanotify).toBe(0);
  });

  it('watch --enforce (CLI): kills the reader; SIGKILL of the watcher fails open and leaves no BPF program', async () => {
    const bpfBefore = ourBpfPrograms();
    const w = startWatch(['--backend', 'ebpf', '--enforce', '--policy', guardPolicy]);
    await started(w);
    expect(w.err()).toMatch(/guard mode enforce \(\d+ exception entries in the kernel/);
    const r = await runToExit(readMem, [String(target.pid)]);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    const line = await waitFor('the killed finding on stdout', () =>
      w
        .out()
        .split('\n')
        .find((l) => l.includes(`"hostProcessId":${r.pid},`)),
    );
    expect(line).toContain('"action":"killed"');
    // The watcher dies without cleaning up: its fds close, the kernel detaches the programs.
    w.child.kill('SIGKILL');
    expect((await w.exited).signal).toBe('SIGKILL');
    const after = await runToExit(readMem, [String(target.pid)]);
    expect(after.signal).toBeNull();
    expect(after.stdout).toBe(`read ${ELF_MAGIC}\n`);
    const leftover = () => ourBpfPrograms().filter((p) => !bpfBefore.includes(p));
    await waitFor('BPF programs freed', () => leftover().length === 0 || undefined, 20_000).catch(
      () => undefined,
    );
    expect(leftover()).toEqual([]);
  }, 60_000);

  it('watch --enforce refuses a policy needing a condition the kernel cannot decide (exit 2, FILE:LINE:COLUMN)', async () => {
    const w = startWatch(['--backend', 'ebpf', '--enforce', '--policy', reportingPolicy]);
    const end = await w.exited;
    expect(end.code).toBe(2);
    const policy = loadPolicy(reportingPolicy);
    const lldb = policy.exceptions.findIndex((e) => e.name === 'lldb-server-on-its-own-inferiors');
    const at = policy.exceptions[lldb]?.positions?.['opener.exe'];
    expect(at).toBeDefined();
    expect(w.err()).toContain(
      `${reportingPolicy}:${at?.line}:${at?.column}: exceptions[${lldb}].opener.exe: guard mode cannot enforce exception "lldb-server-on-its-own-inferiors"`,
    );
  });

  it('watch --enforce with the fanotify backend exits 69 (EXIT_UNAVAILABLE)', async () => {
    const w = startWatch(['--backend', 'fanotify', '--enforce', '--policy', guardPolicy]);
    const end = await w.exited;
    expect(end.code).toBe(69);
    expect(w.err()).toMatch(/guard mode \(enforce\) needs the eBPF backend/);
  });

  it('100 start/stop cycles in guard mode leave no fds, threads or BPF programs behind', async () => {
    const g = await startGuard(true);
    try {
      await g.watcher.stop(); // warm-up
      const before = captureResources();
      const bpfBefore = ourBpfPrograms();
      for (let i = 0; i < 100; i++) {
        await g.watcher.start();
        await g.watcher.stop();
      }
      expect(captureResources()).toEqual(before);
      const leftover = () => ourBpfPrograms().filter((p) => !bpfBefore.includes(p));
      await waitFor('BPF programs freed', () => leftover().length === 0 || undefined, 20_000).catch(
        () => undefined,
      );
      expect(leftover()).toEqual([]);
      // Guard mode was on in every cycle: a kill after a restart is still counted.
      await g.watcher.start();
      const r = await runToExit(readMem, [String(target.pid)]);
      expect(r.signal).toBe('SIGKILL');
      await waitFor('the kill counted', () => g.watcher.stats().enforcement.killed > 0);
    } finally {
      await g.watcher.stop();
    }
  }, 120_000);
});
