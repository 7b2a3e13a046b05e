// Observed access on the fanotify backend: after a reported open of another process's mem
// file, an inode mark counts the opener's access and modify events on that file, reported once
// as a proc_mem_io event when it closes the file or exits, tied to the finding of its open.
// Counts are events seen (the kernel merges identical queued events), bytes unknown. Real
// processes, a real heap, the real kernel; the helper waits on its stdin until the test has
// seen its finding, so that the mark is in place before it reads.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ioArg } from '../../src/events/proc-mem-io.js';
import { track } from '../helpers/children.js';
import { useIoWatch } from '../helpers/io-watch.js';
import {
  cHelper,
  liveName,
  run,
  runsHere,
  signatureIds,
  startWatcher,
  waitFor,
} from '../helpers/live.js';

const MiB = 1024 * 1024;

/** Inode marks ("fanotify ino:<hex> ...") of this process's fanotify groups, by inode. */
function inodeMarks(): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:[fanotify]') continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    for (const m of info.matchAll(/^fanotify ino:([0-9a-f]+) /gm))
      out.push(Number.parseInt(m[1] as string, 16));
  }
  return out;
}

/** The helper mem_rw_wait, driven line by line. */
class Helper {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  constructor(args: string[]) {
    this.child = track(spawn(cHelper('mem_rw_wait'), args, { stdio: 'pipe' }));
    this.child.stdout.on('data', (d) => {
      this.out += d;
    });
  }
  get pid(): number {
    return this.child.pid as number;
  }
  line(re: RegExp, what: string): Promise<RegExpExecArray> {
    return waitFor(`mem_rw_wait: ${what}`, () => re.exec(this.out) ?? undefined);
  }
  go(): void {
    this.child.stdin.write('\n');
  }
  exited(): Promise<number | null> {
    return new Promise((r) =>
      this.child.exitCode !== null ? r(this.child.exitCode) : this.child.on('exit', r),
    );
  }
}

describe.skipIf(!runsHere())(liveName('proc_mem_io (fanotify)'), () => {
  const t = useIoWatch('fanotify', 4 * MiB);
  const { ioOf, findingOf } = t;

  /** Starts the helper, waits for its open's finding (the mark is placed before it is reported). */
  async function opened(reads: number, writes: number, end: 'close' | 'exit', others = 0) {
    const h = new Helper([
      String(t.heapPid),
      t.heapAddr,
      String(reads),
      String(writes),
      '4096',
      end,
      String(others),
    ]);
    const fd = Number((await h.line(/^open (\d+)$/m, 'open'))[1]);
    const finding = await findingOf(h.pid);
    return { h, fd, finding };
  }

  it('counts a helper that reads N and writes M times, then closes: tied to its finding', async () => {
    const N = 20;
    const M = 5;
    const { h, fd, finding } = await opened(N, M, 'close');
    const memIno = statSync(`/proc/${t.heapPid}/mem`).ino;
    expect(inodeMarks()).toContain(memIno);
    h.go();
    await h.line(/^closed$/m, 'closed');
    const e = await ioOf(h.pid);
    h.go();
    expect(await h.exited()).toBe(0);
    expect(e.eventName).toBe('proc_mem_io');
    expect(e.procmemGuard.backend).toBe('fanotify');
    expect(e.procmemGuard.io.end).toBe('closed');
    // Events seen: merged while queued, so between one and one per call.
    expect(ioArg(e, 'reads')).toBeGreaterThanOrEqual(1n);
    expect(ioArg(e, 'reads')).toBeLessThanOrEqual(BigInt(N));
    expect(ioArg(e, 'writes')).toBeGreaterThanOrEqual(1n);
    expect(ioArg(e, 'writes')).toBeLessThanOrEqual(BigInt(M));
    expect(ioArg(e, 'bytesRead')).toBe(-1n);
    expect(ioArg(e, 'bytesWritten')).toBe(-1n);
    expect(e.procmemGuard.notes).toContain('bytes-unknown');
    // Tied to the finding: same opener, target, fd, path, and the open's timestamp.
    // Opened O_RDWR: a read finding and a write finding, both of this open.
    expect(signatureIds(t.w.findings.filter((f) => f.event.hostProcessId === h.pid))).toEqual([
      'TRC-1023',
      'TRC-1024',
    ]);
    expect(finding.event.returnValue).toBe(fd);
    expect(ioArg(e, 'fd')).toBe(fd);
    expect(e.hostThreadId).toBe(finding.event.hostThreadId);
    expect(e.processName).toBe(finding.event.processName);
    expect(e.procmemGuard.targetPid).toBe(t.heapPid);
    expect(e.procmemGuard.target?.pid).toBe(t.heapPid);
    expect(ioArg(e, 'pathname')).toBe(finding.event.args.find((a) => a.name === 'pathname')?.value);
    expect(e.procmemGuard.io.openTimestamp).toBe(finding.event.timestamp);
    expect(ioArg(e, 'durationNs')).toBeGreaterThan(0n);
    expect(e.timestamp - finding.event.timestamp).toBe(ioArg(e, 'durationNs'));
    // No entry is left on the file: its mark is gone.
    await waitFor('the mark removed', () => !inodeMarks().includes(memIno));
  });

  it('an opener that exits without closing: end "exited", its reads counted', async () => {
    const { h, fd } = await opened(8, 0, 'exit');
    h.go();
    await h.line(/^done \d+$/m, 'done');
    expect(await h.exited()).toBe(0);
    const e = await ioOf(h.pid);
    expect(e.procmemGuard.io.end).toBe('exited');
    expect(ioArg(e, 'fd')).toBe(fd);
    expect(ioArg(e, 'reads')).toBeGreaterThanOrEqual(1n);
    expect(ioArg(e, 'reads')).toBeLessThanOrEqual(8n);
    expect(ioArg(e, 'writes')).toBe(0n);
  });

  it('an opener whose file a child still holds: no close at its exit, found gone: end "exited"', async () => {
    // sh opens the mem file on fd 3, starts a sleep that inherits it, and exits: the file is
    // not closed, so only the watcher's look at its openers ends the entry.
    const sh = track(
      spawn(
        'sh',
        ['-c', `exec 3</proc/${t.heapPid}/mem; echo open; read x; sleep 30 & echo child $!`],
        {
          stdio: 'pipe',
        },
      ),
    );
    let out = '';
    sh.stdout.on('data', (d) => {
      out += d;
    });
    await waitFor('sh: open', () => out.includes('open'));
    await findingOf(sh.pid as number);
    sh.stdin.write('\n');
    const child = Number(
      (await waitFor('sh: child', () => /child (\d+)/.exec(out) ?? undefined))[1],
    );
    try {
      const e = await ioOf(sh.pid as number);
      expect(e.procmemGuard.io.end).toBe('exited');
      expect(ioArg(e, 'fd')).toBe(3);
      // The child's hold is not the opener's: its mark goes with the entry.
      await waitFor('no entry left', () => t.w.watcher.stats().native.io_entries === 0);
    } finally {
      process.kill(child, 'SIGKILL');
    }
  });

  it('does not count reads of other files, and counts every summary in stats', async () => {
    const before = t.w.watcher.stats();
    // 400 reads of /dev/zero between 2 reads of the mem file: only the mem file is marked.
    const { h } = await opened(2, 0, 'close', 400);
    h.go();
    await h.line(/^closed$/m, 'closed');
    const e = await ioOf(h.pid);
    h.go();
    expect(ioArg(e, 'reads')).toBeGreaterThanOrEqual(1n);
    expect(ioArg(e, 'reads')).toBeLessThanOrEqual(2n);
    expect(ioArg(e, 'writes')).toBe(0n);
    const s = t.w.watcher.stats();
    expect(s.io.on).toBe(true);
    expect(s.io.summaries).toBe(before.io.summaries + 1);
    expect(s.io.tracked).toBe(before.io.tracked + 1);
    expect(s.io.lostTracking).toBe(0);
    expect(s.lost.ioSummaryLost).toBe(0);
    expect(s.native.io_tracking).toBe(1);
    expect(s.native.io_entries).toBe(0);
    expect(s.native.io_marks).toBe(0);
  });

  it('an opener that read before the mark: a fast open-read-close is counted as closed early, not lost', async () => {
    const before = t.w.watcher.stats();
    // mem_io opens, reads and closes at once: by the time its fd is looked for it is gone.
    const r = await run(cHelper('mem_io'), [String(t.heapPid), t.heapAddr, 'r', '4096', '4096']);
    await findingOf(r.pid);
    const s = await waitFor('the open accounted for', () => {
      const now = t.w.watcher.stats();
      const n = now.native;
      const b = before.native;
      return (n.io_closed_early ?? 0) + (n.io_tracked ?? 0) >
        (b.io_closed_early ?? 0) + (b.io_tracked ?? 0)
        ? now
        : undefined;
    });
    expect(s.io.lostTracking).toBe(0);
    // Tracked (its fd was still there) or not, nothing is left behind once it exited.
    await waitFor('no entry left', () => t.w.watcher.stats().native.io_entries === 0, 5000);
  });

  it('an open still held when the watcher stops: end "watcher-stopped", the counts so far', async () => {
    const { h, fd } = await opened(3, 0, 'close');
    await t.w.watcher.stop();
    const e = await ioOf(h.pid);
    expect(e.procmemGuard.io.end).toBe('watcher-stopped');
    expect(ioArg(e, 'fd')).toBe(fd);
    expect(ioArg(e, 'reads')).toBe(0n);
    expect(inodeMarks()).toEqual([]);
    h.child.kill('SIGKILL');
  });

  it('is off unless asked for (observeIo): findings only, no inode marks', async () => {
    const plain = await startWatcher('fanotify');
    const quiet: unknown[] = [];
    plain.watcher.on('io', (e) => quiet.push(e));
    try {
      expect(plain.watcher.stats().io.on).toBe(false);
      const { h } = await (async () => {
        const helper = new Helper([String(t.heapPid), t.heapAddr, '4', '0', '4096', 'close']);
        await helper.line(/^open \d+$/m, 'open');
        await findingOf(helper.pid, plain);
        return { h: helper };
      })();
      expect(inodeMarks()).toEqual([]);
      h.go();
      await h.line(/^closed$/m, 'closed');
      h.go();
      expect(await h.exited()).toBe(0);
      // A barrier: a later open's finding means the helper's close was read by now.
      const r = await run('dd', [`if=/proc/${t.heapPid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
      await findingOf(r.pid, plain);
      expect(quiet).toEqual([]);
      const s = plain.watcher.stats();
      expect(s.native.io_tracking).toBe(0);
      expect(s.native.io_access_events).toBe(0);
      expect(s.io.tracked).toBe(0);
      expect(inodeMarks()).toEqual([]);
    } finally {
      await plain.watcher.stop();
    }
  });
});
