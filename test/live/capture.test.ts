// Live capture against the real kernel: one table of cases, run against every backend.
// CI runs as root with PMG_TEST_HOST_STATE=1, so these always run there; without root they
// cannot capture at all, and the audit backend's rows change the host's audit configuration
// (test/helpers/live.ts, HOST_STATE_ENV).
//
// What lives here and not in test/native/: whatever is the same for every backend (the
// negatives, the storm, the start/stop cycles, namespaces), run through ProcMemWatcher so the
// whole stack is covered once per backend. test/native/<backend>.test.ts keeps only what one
// backend does differently, seen in its records and stats.
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native.js';
import type { BackendName } from '../../src/watcher/watcher.js';
import { track } from '../helpers/children.js';
import {
  type Collected,
  captureBarrier,
  captureResources,
  cHelper,
  describeBackends,
  liveName,
  nsHoldLoop,
  nsProbeLoop,
  ourBpfPrograms,
  probeUntilSeen,
  run,
  runsHere,
  signatureIds,
  sleep,
  spawnTarget,
  startWatcher,
  waitFor,
} from '../helpers/live.js';

const O_ACCMODE = 3;
const backends: BackendName[] = ['ebpf', 'fanotify', 'audit'];

describeBackends(backends, 'live capture (%s)', (backend) => {
  let w: Collected;
  let openMem: string;
  let target: ReturnType<typeof spawnTarget>;

  beforeAll(async () => {
    openMem = cHelper('open_mem');
    target = spawnTarget();
    w = await startWatcher(backend);
  });
  afterAll(async () => {
    await w?.watcher.stop();
    target?.kill();
  });

  const findingsOf = (pid: number) => w.findings.filter((f) => f.event.hostProcessId === pid);
  const eventsOf = (pid: number) => w.events.filter((e) => e.hostProcessId === pid);

  it("reports dd reading another live process's mem as TRC-1023 with opener and target", async () => {
    const dd = await run('dd', [`if=/proc/${target.pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
    const f = await waitFor('TRC-1023 for dd', () =>
      findingsOf(dd.pid).find((x) => x.sigMetadata.ID === 'TRC-1023'),
    );
    expect(f.event.processName).toBe('dd');
    expect(f.event.executable.path).toBe('/usr/bin/dd');
    expect(f.event.processId).toBe(dd.pid);
    expect(f.event.eventName).toBe('security_file_open');
    expect(argOf(f.event, 'pathname')).toBe(`/proc/${target.pid}/mem`);
    expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
    expect(Number(argOf(f.event, 'flags')) & O_ACCMODE).toBe(0);
    await captureBarrier(w, openMem, `/proc/${target.pid}/mem`);
    expect(signatureIds(findingsOf(dd.pid))).toEqual(['TRC-1023']);
  });

  it('reports /proc/self/mem with the opener as its own target', async () => {
    const r = await run(openMem, ['/proc/self/mem', 'r', '100']);
    const e = await waitFor('self mem event', () => eventsOf(r.pid)[0]);
    expect(e.procmemGuard?.targetPid).toBe(r.pid);
    expect(argOf(e, 'pathname')).toBe(`/proc/${r.pid}/mem`);
    await waitFor('TRC-1023', () => findingsOf(r.pid).find((x) => x.sigMetadata.ID === 'TRC-1023'));
  });

  it('reports /proc/<pid>/task/<tid>/mem', async () => {
    const r = await run(openMem, [`/proc/${target.pid}/task/${target.pid}/mem`, 'r', '100']);
    const f = await waitFor('TRC-1023 for task mem', () =>
      findingsOf(r.pid).find((x) => x.sigMetadata.ID === 'TRC-1023'),
    );
    expect(argOf(f.event, 'pathname')).toBe(`/proc/${target.pid}/task/${target.pid}/mem`);
    expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
    expect(f.event.procmemGuard?.targetTid).toBe(target.pid);
  });

  it('reports a mem file opened through a symlink by the file opened, not the name passed', async () => {
    // Issue 9: audit matched the name as passed. The opener holds the file until the finding
    // is in, so every backend can name it.
    const dir = mkdtempSync(join(tmpdir(), 'pmg-link-'));
    const link = join(dir, 'innocent');
    symlinkSync(`/proc/${target.pid}/mem`, link);
    const holder = track(spawn(openMem, [link, 'r', '30000'], { stdio: 'ignore' }));
    try {
      const f = await waitFor('finding for the symlinked open', () =>
        findingsOf(holder.pid as number).find((x) => x.sigMetadata.ID === 'TRC-1023'),
      );
      expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
      expect(argOf(f.event, 'pathname')).toBe(`/proc/${target.pid}/mem`);
      // Opened, closed and gone at once: still reported (audit may no longer learn its name).
      const quick = await run(openMem, [link, 'r', '0']);
      const q = await waitFor('finding for the quick symlinked open', () =>
        findingsOf(quick.pid).find((x) => x.sigMetadata.ID === 'TRC-1023'),
      );
      if (argOf(q.event, 'pathname') === '')
        expect(q.event.procmemGuard?.notes).toContain('path-unknown');
      else expect(argOf(q.event, 'pathname')).toBe(`/proc/${target.pid}/mem`);
    } finally {
      holder.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('O_WRONLY gives TRC-1024 and no TRC-1023; O_RDWR gives both (flags read while held)', async () => {
    const wr = await run(openMem, [`/proc/${target.pid}/mem`, 'w', '300']);
    await waitFor('TRC-1024', () =>
      findingsOf(wr.pid).find((x) => x.sigMetadata.ID === 'TRC-1024'),
    );
    const ev = eventsOf(wr.pid)[0];
    expect(Number(argOf(ev, 'flags')) & O_ACCMODE).toBe(1);
    await captureBarrier(w, openMem, `/proc/${target.pid}/mem`);
    expect(signatureIds(findingsOf(wr.pid))).toEqual(['TRC-1024']);

    const rw = await run(openMem, [`/proc/${target.pid}/mem`, 'rw', '300']);
    await waitFor(
      'both signatures',
      () => signatureIds(findingsOf(rw.pid)).length === 2 || undefined,
    );
    expect(signatureIds(findingsOf(rw.pid))).toEqual(['TRC-1023', 'TRC-1024']);
    expect(Number(argOf(eventsOf(rw.pid)[0], 'flags')) & O_ACCMODE).toBe(2);
  });

  it('attributes an opener that opens, closes and exits at once', async () => {
    const r = await run(openMem, [`/proc/${target.pid}/mem`, 'r', '0']);
    const f = await waitFor('finding for short-lived opener', () => findingsOf(r.pid)[0]);
    expect(f.event.processName).toBe('open_mem');
    expect(f.event.executable.path).toBe(openMem);
    expect(f.event.parentProcessId).toBe(process.pid);
    expect(f.sigMetadata.ID).toBe('TRC-1023');
  });

  it('covers a target and an opener started after the watcher', async () => {
    const late = spawnTarget();
    try {
      const r = await run(openMem, [`/proc/${late.pid}/mem`, 'rw', '0']);
      const f = await waitFor('finding', () => findingsOf(r.pid)[0]);
      expect(f.event.procmemGuard?.targetPid).toBe(late.pid);
    } finally {
      late.kill();
    }
  });

  it('reports an opener inside unshare --fork --pid --mount-proc reading its own namespace', async () => {
    // The namespace's procfs is mounted after the watcher started; fanotify marks it at the
    // exec of the namespace's first program, audit adds its rule when it sees the mount, eBPF
    // sees it at the open itself. dd opens once a probe open (head) through that procfs has
    // been reported: an open in the first moments can beat fanotify and audit (README,
    // "Limitations (live capture)"), which is not measured here.
    const dir = mkdtempSync(join(tmpdir(), 'pmg-ns-'));
    const script = `sleep 30 & t=$!; ${nsProbeLoop(dir, '/proc/$t/mem')}; dd if=/proc/$t/mem of=/dev/null bs=1 count=0 2>/dev/null; echo $t; ${nsHoldLoop(dir)}; kill $t`;
    const outer = run('unshare', ['--fork', '--pid', '--mount-proc', 'sh', '-c', script]);
    const inNs = (name: string) =>
      w.findings.find(
        (x) => x.event.processName === name && x.event.processId !== x.event.hostProcessId,
      );
    let f: (typeof w.findings)[number];
    try {
      await probeUntilSeen(dir, () => inNs('head') !== undefined);
      // The target (sleep) stays until dd's open has been reported.
      f = await waitFor('finding from the pid namespace', () => inNs('dd'));
    } finally {
      // The namespace ends whatever happened.
      writeFileSync(join(dir, 'go'), '');
      writeFileSync(join(dir, 'done'), '');
    }
    const hostTarget = f.event.procmemGuard?.targetPid as number;
    const nsPidOfTarget = readFileSync(`/proc/${hostTarget}/status`, 'utf8').match(
      /^NSpid:\s+(.*)$/m,
    )?.[1];
    const nsPid = Number((await outer).stdout.trim());
    expect(argOf(f.event, 'pathname')).toBe(`/proc/${nsPid}/mem`);
    // The target pid is the host pid of the namespace's process: host pid first, ns pid last.
    expect(nsPidOfTarget?.split(/\s+/).map(Number)).toEqual([hostTarget, nsPid]);
    expect(f.event.pidNamespace).not.toBe(
      w.events.find((e) => e.hostProcessId === e.processId)?.pidNamespace ?? -1,
    );
  });

  it('gives no event and no finding for ps, top, and reads of maps, status and environ', async () => {
    const pids: number[] = [];
    pids.push((await run('ps', ['aux'])).pid);
    pids.push((await run('top', ['-bn1'])).pid);
    for (const f of ['maps', 'status', 'environ'])
      pids.push((await run('cat', [`/proc/${target.pid}/${f}`])).pid);
    await captureBarrier(w, openMem, `/proc/${target.pid}/mem`);
    // ps reads files of processes that exit meanwhile; the kernel then cannot name the file
    // (fd -ESRCH). fanotify counts read-only ones (exited_target_unknown) and reports only a
    // write as 'path-unknown' (mem is the only writable one); such an event must not become a
    // finding here, and every other event from these tools is wrong.
    const seen = w.events.filter(
      (e) => pids.includes(e.hostProcessId) && !e.procmemGuard?.notes?.includes('path-unknown'),
    );
    expect(seen.map((e) => [e.hostProcessId, e.processName, argOf(e, 'pathname')])).toEqual([]);
    expect(w.findings.filter((f) => pids.includes(f.event.hostProcessId))).toEqual([]);
  });

  it('reports a mem read during a procfs open storm and accounts for any loss', async () => {
    const storm = cHelper('open_storm');
    const waitedBefore = auditWaited();
    const lostBefore = w.watcher.stats().lost.total;
    const stormRun = run(storm, ['400000']);
    await sleep(20);
    const during = await run(openMem, [`/proc/${target.pid}/mem`, 'r', '50']);
    await stormRun;
    // fanotify merges and keeps up, eBPF drops the storm's opens in the kernel: the read is
    // always reported. The audit backend lets the
    // kernel drop records rather than make openers wait, so the read may be among the dropped
    // ones: then the kernel's drop count must have reached us as a loss, never silence.
    const found = await waitFor('finding during the storm', () => findingsOf(during.pid)[0], 15_000)
      .then(() => true)
      .catch((err: Error) => {
        if (backend !== 'audit') throw err;
        return false;
      });
    if (!found) {
      await waitFor(
        'an auditLost loss for the dropped records',
        () => w.watcher.stats().lost.total > lostBefore,
        5000,
      );
    }
    // Capture goes on after the storm.
    const after = await run(openMem, [`/proc/${target.pid}/mem`, 'r', '50']);
    await waitFor('finding after the storm', () => findingsOf(after.pid)[0]);
    const s = w.watcher.stats();
    expect(s.eventsSeen).toBeGreaterThan(0);
    const emittedLoss = w.lost.reduce((a, l) => a + l.count, 0);
    expect(s.lost.total).toBe(emittedLoss);
    // No process on the host was made to wait for audit backlog room (the backlog_wait_time
    // the audit backend sets while it is the audit daemon is 0).
    expect(auditWaited()).toBe(waitedBefore);
  });
});

// Time tasks waited for audit backlog room so far (kernel counter, jiffies).
function auditWaited(): number {
  return loadNative().auditStatus().backlogWaitTimeActual;
}

function argOf(e: { args: { name: string; value: unknown }[] } | undefined, name: string): unknown {
  const a = e?.args.find((x) => x.name === name);
  if (!a) throw new Error(`event has no arg ${name}`);
  return a.value;
}

describeBackends(backends, 'start/stop cycles (%s)', (backend) => {
  // The whole stack (ProcMemWatcher, ring, thread-safe function, backend, process table); the
  // native layer has no separate copy of this test. The baseline is taken inside the test,
  // after a warm-up, and counts only what a capture owns (captureResources), so what earlier
  // tests' children still hold cannot shift it.
  it('100 start/stop cycles leave no fds, threads or marks behind', async () => {
    const w = await startWatcher(backend);
    try {
      await w.watcher.stop(); // warm-up: lazily created libuv/N-API resources
      const before = captureResources();
      const bpfBefore = ourBpfPrograms();
      expect(before.fanotify).toBe(0);
      expect(before.bpf).toBe(0);
      expect(before.threads).toEqual([]);
      for (let i = 0; i < 100; i++) {
        await w.watcher.start();
        if (i === 0) {
          const running = captureResources();
          expect(running.threads.length).toBeGreaterThan(0);
          // The check below would be empty if it could not see BPF objects at all.
          if (backend === 'ebpf') expect(running.bpf).toBeGreaterThan(0);
        }
        await w.watcher.stop();
        // start() and stop() run synchronously (the eBPF backend's stop detaches 15 syscall
        // tracepoints, 0.6 s here): let the worker's RPC with vitest run between cycles.
        await new Promise((r) => setImmediate(r));
      }
      expect(captureResources()).toEqual(before);
      if (backend === 'audit') expect(auditRules()).toEqual([]);
      if (backend === 'ebpf') {
        // The kernel frees a detached program after an RCU grace period, not at close: wait
        // until every pmg_ program on the host is one that was there before the cycles.
        const leftover = () => ourBpfPrograms().filter((p) => !bpfBefore.includes(p));
        await waitFor(
          'BPF programs freed',
          () => leftover().length === 0 || undefined,
          20_000,
        ).catch(() => undefined);
        expect(leftover()).toEqual([]);
      }
    } finally {
      await w.watcher.stop();
    }
  }, 120_000);
});

const auditRules = () =>
  loadNative()
    .auditListRules()
    .filter((r) => r.key === 'procmem-guard');

// It changes a sysctl for a moment: host state.
describe.skipIf(!runsHere(true))(liveName('kernel queue overflow (fanotify)', true), () => {
  it('is counted in stats and emitted as lost, never silent', async () => {
    // A one-event kernel queue (the limit is read when the group is created, then restored)
    // overflows as soon as two distinct procfs opens are queued at once: ps opens hundreds.
    const limit = '/proc/sys/fs/fanotify/max_queued_events';
    const old = readFileSync(limit, 'utf8');
    writeFileSync(limit, '1');
    let w: Collected;
    try {
      w = await startWatcher('fanotify');
    } finally {
      writeFileSync(limit, old);
    }
    try {
      for (let i = 0; i < 3; i++) await run('ps', ['aux']);
      await waitFor('a kernelOverflow loss', () =>
        w.lost.find((l) => l.reason === 'kernelOverflow'),
      );
      const s = w.watcher.stats();
      expect(s.lost.kernelOverflow).toBeGreaterThan(0);
      const emitted = w.lost
        .filter((l) => l.reason === 'kernelOverflow')
        .reduce((a, l) => a + l.count, 0);
      expect(s.lost.kernelOverflow).toBe(emitted);
      expect(w.lost.every((l) => l.source === 'fanotify')).toBe(true);
    } finally {
      await w.watcher.stop();
    }
    expect(readFileSync(limit, 'utf8')).toBe(old);
  });
});

// Issue 9: a procfs mounted and opened by one process, with no exec in between. eBPF sees the
// open whatever procfs it goes through; fanotify and audit learn of the instance only after it
// exists. The figure for fanotify and audit is measured and printed (README, "eBPF backend"),
// not asserted; what they do report must name the right target.
describeBackends(backends, 'fresh procfs in a private mount namespace (%s)', (backend) => {
  it('reports the open through a procfs mounted a moment earlier by the same process', async () => {
    const fresh = cHelper('fresh_procfs');
    const target = spawnTarget();
    const w = await startWatcher(backend);
    try {
      const pids: number[] = [];
      for (let i = 0; i < 20; i++) pids.push((await run(fresh, [String(target.pid), 'r'])).pid);
      const caught = () =>
        pids.filter((pid) =>
          w.findings.some(
            (f) =>
              f.event.hostProcessId === pid &&
              f.sigMetadata.ID === 'TRC-1023' &&
              f.event.procmemGuard?.targetPid === target.pid,
          ),
        ).length;
      if (backend === 'ebpf') {
        await waitFor('20 findings', () => caught() === 20 || undefined);
      } else {
        await captureBarrier(w, cHelper('open_mem'), `/proc/${target.pid}/mem`);
      }
      console.log(`fresh procfs (${backend}): ${caught()} of 20 reported`);
      if (backend === 'ebpf') expect(caught()).toBe(20);
      const theirs = w.findings.filter((f) => pids.includes(f.event.hostProcessId));
      expect(theirs.filter((f) => f.event.procmemGuard?.targetPid !== target.pid)).toEqual([]);
    } finally {
      await w.watcher.stop();
      target.kill();
    }
  }, 60_000);
});

describe.skipIf(!runsHere())(liveName('eBPF backend only'), () => {
  let w: Collected;
  let target: ReturnType<typeof spawnTarget>;
  beforeAll(async () => {
    target = spawnTarget();
    w = await startWatcher('ebpf');
  });
  afterAll(async () => {
    await w?.watcher.stop();
    target?.kill();
  });
  const findingsOf = (pid: number) => w.findings.filter((f) => f.event.hostProcessId === pid);

  it('names its attach points and fills the kernel-side fields', async () => {
    const s = w.watcher.stats();
    expect(s.backendReason).toContain('tracepoints syscalls/sys_exit_open, sys_exit_openat');
    expect(s.backendReason).toContain('tp_btf/io_uring_complete');
    const r = await run(cHelper('open_mem'), [`/proc/${target.pid}/mem`, 'r', '100']);
    const f = await waitFor('finding', () => findingsOf(r.pid)[0]);
    const e = f.event;
    expect(e.procmemGuard?.backend).toBe('ebpf');
    expect(e.procmemGuard?.flagsSource).toBe('kernel');
    expect(e.syscall).toBe('openat');
    expect(e.hostParentProcessId).toBe(process.pid);
    expect(e.processName).toBe('open_mem');
    expect(e.mountNamespace).toBe(nsInode('mnt'));
    expect(e.pidNamespace).toBe(nsInode('pid'));
    expect(e.cgroupId).toBeGreaterThan(0n);
    expect(e.processorId).toBeGreaterThanOrEqual(0);
    expect(Number(argOf(e, 'inode'))).toBeGreaterThan(0);
    expect(e.returnValue).toBeGreaterThanOrEqual(0);
  });

  it('falls back to tp_btf/sys_exit where the syscall tracepoints do not attach', async () => {
    // PMG_EBPF_NO_TRACEPOINTS=1 makes the loader skip them, as when tracefs is missing.
    process.env.PMG_EBPF_NO_TRACEPOINTS = '1';
    let fallback: Collected;
    try {
      fallback = await startWatcher('ebpf');
    } finally {
      delete process.env.PMG_EBPF_NO_TRACEPOINTS;
    }
    try {
      const s = fallback.watcher.stats();
      expect(s.native.attach_sys_exit).toBe(1);
      expect(s.native.attach_syscall_tracepoints).toBe(0);
      expect(s.backendReason).toContain('tp_btf/sys_exit');
      const r = await run(cHelper('open_mem'), [`/proc/${target.pid}/mem`, 'rw', '0']);
      const f = await waitFor('finding through tp_btf/sys_exit', () =>
        fallback.findings.find((x) => x.event.hostProcessId === r.pid),
      );
      expect(f.event.syscall).toBe('openat');
      expect(Number(argOf(f.event, 'flags')) & 3).toBe(2);
    } finally {
      await fallback.watcher.stop();
    }
  });

  it('O_WRONLY gives TRC-1024 only, with the exact flags from the kernel', async () => {
    const O_WRONLY = 0o1;
    const O_LARGEFILE = 0o100000;
    const wr = await run(cHelper('open_mem'), [`/proc/${target.pid}/mem`, 'w', '0']);
    await waitFor('TRC-1024', () =>
      findingsOf(wr.pid).find((x) => x.sigMetadata.ID === 'TRC-1024'),
    );
    const e = w.events.find((x) => x.hostProcessId === wr.pid);
    // open_mem opens with O_WRONLY | O_CLOEXEC; the kernel keeps O_CLOEXEC on the fd, not the
    // file, and adds O_LARGEFILE on 64-bit: file->f_flags, as Tracee reports it.
    expect(Number(argOf(e, 'flags'))).toBe(O_WRONLY | O_LARGEFILE);
    expect(e?.procmemGuard?.flagsSource).toBe('kernel');
    await captureBarrier(w, cHelper('open_mem'), `/proc/${target.pid}/mem`);
    expect(signatureIds(findingsOf(wr.pid))).toEqual(['TRC-1024']);
  });

  it('reports an io_uring IORING_OP_OPENAT of a mem file', async () => {
    const r = await run(cHelper('uring_open'), [`/proc/${target.pid}/mem`, '0']);
    expect(r.stdout).toMatch(/res=\d+/);
    const f = await waitFor('finding for the io_uring open', () => findingsOf(r.pid)[0]);
    expect(f.sigMetadata.ID).toBe('TRC-1023');
    expect(f.event.syscall).toBe('io_uring_enter');
    expect(f.event.procmemGuard?.notes).toContain('io-uring');
    expect(f.event.procmemGuard?.targetPid).toBe(target.pid);
  });

  it('reports an unprivileged user in a new user namespace reading a child at once', async () => {
    // Issue 9: missed by fanotify and audit (the namespace's procfs is not covered yet).
    const script =
      'sleep 30 & t=$!; dd if=/proc/$t/mem of=/dev/null bs=1 count=0 2>/dev/null; echo $t; kill $t';
    const r = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'unshare',
      '-Urpf',
      '--mount-proc',
      'sh',
      '-c',
      script,
    ]);
    const nsPid = Number(r.stdout.trim());
    const f = await waitFor('finding from the user namespace', () =>
      w.findings.find(
        (x) =>
          x.event.processName === 'dd' &&
          x.event.userId === 65534 &&
          argOf(x.event, 'pathname') === `/proc/${nsPid}/mem`,
      ),
    );
    expect(f.sigMetadata.ID).toBe('TRC-1023');
    expect(f.event.procmemGuard?.targetPid).not.toBe(nsPid); // a host pid
    expect(f.event.pidNamespace).not.toBe(nsInode('pid'));
  });
});

function nsInode(kind: 'mnt' | 'pid'): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${kind}`))?.[1]);
}
