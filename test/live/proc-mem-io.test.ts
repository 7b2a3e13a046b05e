// Observed access (eBPF backend): what an opener of another process's mem file did with it,
// reported once as a proc_mem_io event when it closed the file or exited, tied to the finding
// of its open. Real processes, a real heap, the real kernel.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProcMemIoEvent } from '../../src/events/proc-mem-io.js';
import { ioArg } from '../../src/events/proc-mem-io.js';
import { useIoWatch } from '../helpers/io-watch.js';
import { cHelper, liveName, run, runsHere, startWatcher, waitFor } from '../helpers/live.js';
import { started, startWatch } from '../helpers/watch-process.js';

const MiB = 1024 * 1024;

describe.skipIf(!runsHere())(liveName('proc_mem_io (ebpf)'), () => {
  let memIo: string;
  beforeAll(() => {
    memIo = cHelper('mem_io');
  });
  const t = useIoWatch('ebpf', 4 * MiB);
  const { ioOf, findingOf } = t;

  /** A summary's counts and end as one object: a failing test lists every difference. */
  const countsOf = (e: ProcMemIoEvent) => ({
    reads: ioArg(e, 'reads'),
    writes: ioArg(e, 'writes'),
    bytesRead: ioArg(e, 'bytesRead'),
    bytesWritten: ioArg(e, 'bytesWritten'),
    end: e.procmemGuard.io.end,
  });
  /** Runs mem_io; returns its pid and the fd and counts it printed. */
  async function memIoRun(args: string[]) {
    const r = await run(memIo, [String(t.heapPid), t.heapAddr, ...args]);
    const m = /^fd (\d+) done (\d+) in (\d+)$/m.exec(r.stdout);
    if (!m) throw new Error(`mem_io printed ${JSON.stringify(r.stdout)}`);
    return {
      pid: r.pid,
      fd: Number(m[1]),
      bytes: BigInt(m[2] as string),
      calls: BigInt(m[3] as string),
    };
  }

  it('reports the bytes of a helper that reads 1 MiB of another process heap, tied to its finding', async () => {
    const r = await memIoRun(['r', String(MiB), String(64 * 1024), 'close']);
    const e = await ioOf(r.pid);
    const f = await findingOf(r.pid);
    expect(r.bytes).toBe(BigInt(MiB));
    expect(ioArg(e, 'bytesRead')).toBe(BigInt(MiB));
    expect(ioArg(e, 'reads')).toBe(16n);
    expect(ioArg(e, 'writes')).toBe(0n);
    expect(ioArg(e, 'bytesWritten')).toBe(0n);
    expect(ioArg(e, 'fd')).toBe(r.fd);
    expect(e.eventName).toBe('proc_mem_io');
    expect(e.procmemGuard.io.end).toBe('closed');
    // Tied to the finding: same opener, target, fd, path, and the open's timestamp.
    expect(f.sigMetadata.ID).toBe('TRC-1023');
    expect(e.hostThreadId).toBe(f.event.hostThreadId);
    expect(e.processName).toBe(f.event.processName);
    expect(e.procmemGuard.target?.pid).toBe(t.heapPid);
    expect(e.procmemGuard.targetPid).toBe(f.event.procmemGuard?.targetPid);
    expect(ioArg(e, 'fd')).toBe(f.event.returnValue);
    expect(ioArg(e, 'pathname')).toBe(f.event.args.find((a) => a.name === 'pathname')?.value);
    expect(e.procmemGuard.io.openTimestamp).toBe(f.event.timestamp);
    expect(ioArg(e, 'durationNs')).toBeGreaterThan(0n);
    expect(e.timestamp - f.event.timestamp).toBe(ioArg(e, 'durationNs'));
  });

  it('an open that reads nothing: 0 reads, 0 bytes', async () => {
    const r = await memIoRun(['r', '0', '4096', 'close']);
    expect(countsOf(await ioOf(r.pid))).toEqual({
      reads: 0n,
      writes: 0n,
      bytesRead: 0n,
      bytesWritten: 0n,
      end: 'closed',
    });
  });

  it('an opener that exits without closing: the summary comes at its exit', async () => {
    const r = await memIoRun(['r', String(3 * 4096), '4096', 'exit']);
    const e = await ioOf(r.pid);
    expect(e.procmemGuard.io.end).toBe('exited');
    expect(ioArg(e, 'reads')).toBe(3n);
    expect(ioArg(e, 'bytesRead')).toBe(3n * 4096n);
    expect(ioArg(e, 'fd')).toBe(r.fd);
  });

  it('counts writes into the target', async () => {
    const r = await memIoRun(['w', '8192', '4096', 'close']);
    const e = await ioOf(r.pid);
    const f = await findingOf(r.pid);
    expect(f.sigMetadata.ID).toBe('TRC-1024');
    expect(ioArg(e, 'writes')).toBe(2n);
    expect(ioArg(e, 'bytesWritten')).toBe(8192n);
    expect(ioArg(e, 'reads')).toBe(0n);
  });

  it('close_range(2) and an exec of a close-on-exec fd end the tracking too', async () => {
    const byRange = await memIoRun(['r', '8192', '4096', 'close_range']);
    const byExec = await memIoRun(['r', '4096', '4096', 'exec']);
    const ranged = await ioOf(byRange.pid);
    const execed = await ioOf(byExec.pid);
    expect(ranged.procmemGuard.io.end).toBe('close-range');
    expect(ioArg(ranged, 'reads')).toBe(2n);
    expect(ioArg(ranged, 'bytesRead')).toBe(8192n);
    expect(execed.procmemGuard.io.end).toBe('exec');
    expect(ioArg(execed, 'bytesRead')).toBe(4096n);
  });

  it('counts io_uring reads and writes of the fd, and an IORING_OP_CLOSE ends it', async () => {
    const uring = cHelper('uring_mem_io');
    const run1 = async (args: string[]) => {
      const r = await run(uring, [String(t.heapPid), t.heapAddr, ...args]);
      const m = /^fd (\d+) done (\d+) in (\d+)$/m.exec(r.stdout);
      if (!m) throw new Error(`uring_mem_io printed ${JSON.stringify(r.stdout)} (exit ${r.code})`);
      return { pid: r.pid, fd: Number(m[1]), requests: BigInt(m[3] as string) };
    };
    const reader = await run1(['r', String(256 * 1024), String(32 * 1024), 'uclose']);
    const writer = await run1(['w', '8192', '4096', 'close']);
    const read = await ioOf(reader.pid);
    expect(reader.requests).toBe(8n);
    expect(ioArg(read, 'fd')).toBe(reader.fd);
    expect(countsOf(read)).toEqual({
      reads: 8n,
      writes: 0n,
      bytesRead: 256n * 1024n,
      bytesWritten: 0n,
      end: 'closed',
    });
    expect(countsOf(await ioOf(writer.pid))).toEqual({
      reads: 0n,
      writes: 2n,
      bytesRead: 0n,
      bytesWritten: 8192n,
      end: 'closed',
    });
  });

  it('follows the policy: no summary for a suppressed open, the marks of an annotated one', async () => {
    const uring = cHelper('uring_mem_io');
    const policed = await startWatcher('ebpf', {
      observeIo: true,
      policy: {
        version: 1,
        exceptions: [
          { name: 'mem-io-is-fine', opener: { exe: [memIo] }, action: 'suppress' },
          { name: 'uring-noted', opener: { exe: [uring] }, action: 'annotate' },
        ],
      },
    });
    const seen: ProcMemIoEvent[] = [];
    policed.watcher.on('io', (e) => seen.push(e));
    try {
      const quiet = await memIoRun(['r', '8192', '4096', 'close']);
      const noted = await run(uring, [
        String(t.heapPid),
        t.heapAddr,
        'r',
        '4096',
        '4096',
        'uclose',
      ]);
      // The other watcher (no policy) reports both; this one drops the suppressed one's.
      await ioOf(quiet.pid);
      const annotated = await waitFor('the annotated summary', () =>
        seen.find((e) => e.hostProcessId === noted.pid),
      );
      await waitFor('the suppressed summary counted', () =>
        policed.watcher.stats().io.suppressed === 1 ? true : undefined,
      );
      expect(seen.filter((e) => e.hostProcessId === quiet.pid)).toEqual([]);
      expect(policed.findings.filter((f) => f.event.hostProcessId === quiet.pid)).toEqual([]);
      expect(annotated.procmemGuard.exceptions).toEqual(['uring-noted']);
      expect(ioArg(annotated, 'bytesRead')).toBe(4096n);
      expect(policed.watcher.stats().io.summaries).toBe(seen.length);
    } finally {
      await policed.watcher.stop();
    }
  });

  it('does not count reads of other files, and counts every summary in stats', async () => {
    const before = t.w.watcher.stats().io;
    // dd reads /dev/zero in its own fds: the kernel tracks nothing of it.
    await run('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=4096', 'count=256', 'status=none']);
    const r = await memIoRun(['r', '4096', '4096', 'close']);
    const e = await ioOf(r.pid);
    expect(ioArg(e, 'reads')).toBe(1n);
    const s = t.w.watcher.stats();
    expect(s.io.summaries).toBe(before.summaries + 1);
    expect(s.io.tracked).toBeGreaterThanOrEqual(before.tracked + 1);
    expect(s.io.lostTracking).toBe(0);
    expect(s.native.io_tracking).toBe(1);
    expect(s.lost.ioSummaryLost).toBe(0);
  });

  it('is off unless asked for (observeIo): findings only, no io programs attached', async () => {
    const plain = await startWatcher('ebpf');
    const quiet: unknown[] = [];
    plain.watcher.on('io', (e) => quiet.push(e));
    try {
      expect(t.w.watcher.stats().io.on).toBe(true);
      expect(plain.watcher.stats().io.on).toBe(false);
      const r = await memIoRun(['r', '4096', '4096', 'close']);
      // Both watchers see the open; only the one that asked reports what it read.
      await ioOf(r.pid);
      await waitFor("the plain watcher's finding", () =>
        plain.findings.find((f) => f.event.hostProcessId === r.pid),
      );
      expect(quiet).toEqual([]);
      const s = plain.watcher.stats();
      expect(s.native.io_tracking).toBe(0);
      expect(s.io.tracked).toBe(0);
    } finally {
      await plain.watcher.stop();
    }
  });

  it('watch sends the summary where findings go: a pretty line and Tracee event JSON', async () => {
    const pretty = startWatch(['--backend', 'ebpf', '--observe-io', '--format', 'pretty']);
    const json = startWatch(['--backend', 'ebpf', '--observe-io', '--format', 'json']);
    try {
      await started(pretty);
      await started(json);
      const r = await memIoRun(['r', String(2 * 4096), '4096', 'close']);
      const line = await waitFor('the io line', () =>
        pretty
          .out()
          .split('\n')
          .find((l) => l.includes('io proc_mem_io') && l.includes(`pid ${r.pid} `)),
      );
      expect(line).toMatch(
        new RegExp(
          `mem_io \\(uid 0\\) read 8192 bytes in 2 reads from heap_target \\(pid ${t.heapPid}, .*\\) over .*  /proc/${t.heapPid}/mem  closed$`,
        ),
      );
      const event = await waitFor('the io JSON line', () =>
        json
          .out()
          .split('\n')
          .find(
            (l) =>
              l.includes('"eventName":"proc_mem_io"') && l.includes(`"hostProcessId":${r.pid},`),
          ),
      );
      expect(event).toContain('{"name":"bytesRead","type":"long","value":8192}');
      expect(json.out()).toContain(`"sigMetadata"`);
      for (const w of [pretty, json]) {
        w.child.kill('SIGINT');
        expect((await w.exited).code).toBe(0);
        expect(w.err()).toMatch(/io summaries [1-9]/);
      }
    } finally {
      pretty.child.kill('SIGKILL');
      json.child.kill('SIGKILL');
    }
  });
});
