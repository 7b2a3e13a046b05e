// Target enrichment against the real kernel, on every backend: the process whose memory was
// opened is named at capture time (comm, exe, real uid, container, start) with the opener's
// relation to it (self, ancestor, descendant, unrelated), and the opener's parent's exe.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SecurityFileOpenEvent } from '../../src/events/types.js';
import { formatFindingPretty } from '../../src/output/pretty.js';
import type { BackendName } from '../../src/watcher/watcher.js';
import { track } from '../helpers/children.js';
import {
  type Collected,
  cHelper,
  describeBackends,
  NOBODY,
  run,
  spawnTarget,
  startWatcher,
  waitFor,
} from '../helpers/live.js';

const backends: BackendName[] = ['ebpf', 'fanotify', 'audit'];

/** Start of process `pid` as epoch ns, from /proc (boot time has second resolution). */
function procStartEpochNs(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string);
  const btime = BigInt(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '0');
  return btime * 1_000_000_000n + ticks * 10_000_000n;
}

/** Shell: wait (bounded, 5 s) until process `pid` (a shell word) runs sleep, i.e. has exec'd. */
function untilSleeping(pid: string): string {
  return `i=0; until [ "$(cat /proc/${pid}/comm 2>/dev/null)" = sleep ] || [ $i -ge 500 ]; do sleep 0.01; i=$((i+1)); done`;
}

describeBackends(backends, 'target enrichment (%s)', (backend) => {
  let w: Collected;
  let openMem: string;
  beforeAll(async () => {
    openMem = cHelper('open_mem');
    w = await startWatcher(backend);
  });
  afterAll(async () => {
    await w?.watcher.stop();
  });

  const eventOf = (pid: number) =>
    waitFor(`the event of ${pid}`, () => w.events.find((e) => e.hostProcessId === pid));
  const targetOf = (e: SecurityFileOpenEvent) => e.procmemGuard?.target;

  it("names a process the opener did not start: comm, exe, uid, container, start, 'unrelated'", async () => {
    const target = spawnTarget();
    try {
      const dd = await run('dd', [`if=/proc/${target.pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
      const e = await eventOf(dd.pid);
      const t = targetOf(e);
      expect(t).toMatchObject({
        pid: target.pid,
        tid: target.pid,
        comm: 'sleep',
        exe: '/usr/bin/sleep',
        uid: 0,
        relation: 'unrelated',
      });
      // dd and the target share this test's cgroup: the same container id, or '' on the host.
      expect(t?.containerId).toBe(e.containerId);
      const start = t?.startTime as bigint;
      const expected = procStartEpochNs(target.pid);
      expect(start > expected - 2_000_000_000n && start < expected + 2_000_000_000n).toBe(true);
      // dd's parent is this test process.
      expect(e.procmemGuard?.parentExe).toBe(readlinkSync(`/proc/${process.pid}/exe`));
      const f = await waitFor('its finding', () =>
        w.findings.find((x) => x.event.hostProcessId === dd.pid),
      );
      expect(formatFindingPretty(f)).toContain(
        `dd (uid 0) → sleep (pid ${target.pid}, uid 0, unrelated)  /proc/${target.pid}/mem`,
      );
    } finally {
      target.kill();
    }
  });

  it('shows the uid of a target owned by another user', async () => {
    const target = spawnTarget(NOBODY);
    try {
      const dd = await run('dd', [`if=/proc/${target.pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
      const e = await eventOf(dd.pid);
      expect(e.userId).toBe(0);
      expect(targetOf(e)).toMatchObject({ pid: target.pid, comm: 'sleep', uid: 65534 });
    } finally {
      target.kill();
    }
  });

  it("gives 'self' for /proc/self/mem", async () => {
    const r = await run(openMem, ['/proc/self/mem', 'r', '50']);
    const t = targetOf(await eventOf(r.pid));
    expect(t).toMatchObject({ pid: r.pid, comm: 'open_mem', exe: openMem, relation: 'self' });
  });

  it("gives 'ancestor' for a process reading its own child, and its child's child", async () => {
    // The shell starts a sleep, waits until it has exec'd (before that the child is a copy of
    // the shell, comm "sh", and is reported as such), then becomes dd (exec): dd is the
    // sleep's parent.
    const child = await run('sh', [
      '-c',
      `sleep 30 >/dev/null 2>&1 & s=$!; ${untilSleeping('$s')}; echo $s; exec dd if=/proc/$s/mem of=/dev/null bs=1 count=0 2>/dev/null`,
    ]);
    const childPid = Number(child.stdout.trim());
    // Through a descendant: the shell starts an inner shell that starts the sleep (and waits
    // for it), then becomes dd and reads the sleep's memory.
    const pidFile = join(mkdtempSync(join(tmpdir(), 'pmg-target-')), 'pid');
    const grand = await run('sh', [
      '-c',
      `sh -c 'sleep 30 >/dev/null 2>&1 & s=$!; ${untilSleeping('$s')}; echo $s > ${pidFile}.new; mv ${pidFile}.new ${pidFile}; wait' >/dev/null 2>&1 & ` +
        `i=0; while [ ! -e ${pidFile} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; ` +
        `p=$(cat ${pidFile}); echo $p; exec dd if=/proc/$p/mem of=/dev/null bs=1 count=0 2>/dev/null`,
    ]);
    const grandPid = Number(grand.stdout.trim());
    try {
      const e = await eventOf(child.pid);
      expect(e.processName).toBe('dd');
      expect(targetOf(e)).toMatchObject({ pid: childPid, comm: 'sleep', relation: 'ancestor' });
      expect(targetOf(await eventOf(grand.pid))).toMatchObject({
        pid: grandPid,
        comm: 'sleep',
        relation: 'ancestor',
      });
    } finally {
      for (const pid of [childPid, grandPid]) {
        try {
          process.kill(pid);
        } catch {
          // already gone
        }
      }
    }
  });

  it("gives 'descendant' for a child reading its parent", async () => {
    // The shell starts dd on its own mem (the loop after it keeps the shell from exec'ing dd:
    // the shell stays dd's parent), then stays alive until the event is in (bounded, 10 s):
    // fanotify cannot report a read-only open of a target that exited before the event was
    // read (docs/fanotify-capture.md, exited_target_unknown).
    const go = join(mkdtempSync(join(tmpdir(), 'pmg-target-')), 'go');
    const sh = track(
      spawn(
        'sh',
        [
          '-c',
          `dd if=/proc/$$/mem of=/dev/null bs=1 count=0 2>/dev/null; i=0; while [ ! -e ${go} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done`,
        ],
        { stdio: 'ignore' },
      ),
    );
    const shPid = sh.pid as number;
    try {
      // Found by the file it opened: the opener's own attribution is not what is tested here.
      const e = await waitFor('the dd event', () =>
        w.events.find((x) => x.args[0].value === `/proc/${shPid}/mem`),
      );
      expect(targetOf(e)).toMatchObject({
        pid: shPid,
        comm: 'sh',
        exe: realpathSync('/bin/sh'),
        relation: 'descendant',
      });
      expect(e.procmemGuard?.parentExe).toBe(realpathSync('/bin/sh'));
    } finally {
      writeFileSync(go, '');
      sh.kill();
    }
  });
});
