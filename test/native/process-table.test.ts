// The native ProcessTable against the real kernel (CI runs as root): proc connector, TASKSTATS
// and /proc reads. Drives the table through the test-only addon (test/native/addon/).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cHelper, liveName, runsHere, waitFor } from '../helpers/live.js';
import { loadTestAddon, testAddonPath } from '../helpers/test-addon.js';

interface Info {
  hostPid: number;
  hostTid: number;
  hostPpid: number;
  nsPid: number;
  nsTid: number;
  nsPpid: number;
  uid: number;
  gid: number;
  mntNs: number;
  pidNs: number;
  cgroupId: bigint;
  threadStartNs: bigint;
  comm: string;
  exe: string;
  containerId: string;
  exited: boolean;
}
interface Handle {
  start(): void;
  stop(): void;
  lookup(pid: number, tid?: number): Info | null;
  hostPidOf(pidNs: number, nsPid: number): number;
  attribute(pid: number, tid?: number): Info & { recordFlags: number };
  stats(): Record<string, number>;
}
interface ProcessTableForTest {
  Handle: new (opts?: {
    graceMs?: number;
    maxEntries?: number;
    taskstats?: boolean;
    refreshLive?: boolean;
    receiveBufferBytes?: number;
  }) => Handle;
  containerIdFromCgroup(path: string): string;
}

const T = loadTestAddon() as ProcessTableForTest;
const kOpenerExited = 1 << 3;
const kAttributionMissing = 1 << 4;

const HEX = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('containerIdFromCgroup', () => {
  const cases: [string, string][] = [
    [`/system.slice/docker-${HEX}.scope`, HEX],
    [`/docker/${HEX}`, HEX],
    [
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b.slice/cri-containerd-${HEX}.scope`,
      HEX,
    ],
    [`/kubepods/besteffort/pod0b9c1e36-1f7a-4d3c-9e1a-2f3b4c5d6e7f/${HEX}`, HEX],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/crio-${HEX}.scope`,
      HEX,
    ],
    [`/machine.slice/libpod-${HEX}.scope`, HEX],
    [`/machine.slice/libpod-${HEX}.scope/container`, HEX],
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${HEX}.scope`, HEX],
    [`/system.slice/docker-${HEX}.scope/init.scope`, HEX],
    [`/machine.slice/libpod-conmon-${HEX}.scope`, ''],
    [`/system.slice/crio-conmon-${HEX}.scope`, ''],
    [`/system.slice/docker-${HEX.slice(1)}.scope`, ''], // 63 hex
    [`/docker/${HEX.toUpperCase()}`, ''], // ids are lower-case hex
    ['/user.slice/user-0.slice/session-1.scope', ''],
    ['/', ''],
    ['', ''],
  ];
  it.each(cases)('%s', (path, id) => {
    expect(T.containerIdFromCgroup(path)).toBe(id);
  });
});

// Reads what the kernel says about a live task, to compare with the table.
function procTruth(pid: number, tid = pid) {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => status.match(new RegExp(`^${k}:\\s+(.*)$`, 'm'))?.[1] ?? '';
  const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m)?.[1] ?? '';
  return {
    ppid: Number(fields[1]),
    threadStartNs: (BigInt(fields[19] ?? '0') * 1_000_000_000n) / BigInt(hz),
    uid: Number(field('Uid').split(/\s+/)[0]),
    gid: Number(field('Gid').split(/\s+/)[0]),
    mntNs: statSync(`/proc/${pid}/ns/mnt`).ino,
    pidNs: statSync(`/proc/${pid}/ns/pid`).ino,
    cgroupId: BigInt(statSync(`/sys/fs/cgroup${cg}`).ino),
  };
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

// Waits until the table has applied every queued event: a lookup that did not need to wait
// for the table thread (its `syncs` counter did not move) saw empty sockets.
async function settle(t: Handle): Promise<void> {
  await waitFor('the process table to catch up', () => {
    const before = t.stats().syncs;
    t.lookup(process.pid);
    return t.stats().syncs === before;
  });
}

describe.skipIf(!runsHere())(liveName('ProcessTable (live kernel)'), () => {
  let forker = '';
  let quick = '';
  let table: Handle;

  beforeAll(() => {
    // One source, two names: the forker forks N children that exec the quick one, which
    // opens, closes and exits at once. Different comms tell fork data from exec data apart.
    forker = cHelper('pmgforker', { source: 'fast-exit' });
    quick = cHelper('pmgquick', { source: 'fast-exit' });
    table = new T.Handle();
    table.start();
  });

  afterAll(() => {
    table?.stop();
  });

  it('attributes a live child: comm, exe, ppid, uid, gid, namespaces, cgroup, thread start', async () => {
    const child = spawn('sleep', ['5']);
    try {
      const pid = child.pid as number;
      // Wait for the exec (comm turns to sleep).
      await waitFor('the child to exec sleep', () =>
        readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined,
      );
      const info = table.lookup(pid);
      expect(info).not.toBeNull();
      const truth = procTruth(pid);
      expect(info).toMatchObject({
        hostPid: pid,
        hostTid: pid,
        hostPpid: process.pid,
        nsPid: pid,
        nsTid: pid,
        nsPpid: process.pid,
        uid: truth.uid,
        gid: truth.gid,
        mntNs: truth.mntNs,
        pidNs: truth.pidNs,
        cgroupId: truth.cgroupId,
        threadStartNs: truth.threadStartNs,
        comm: 'sleep',
        exe: realpathSync(`/proc/${pid}/exe`),
        containerId: '',
        exited: false,
      });
      expect(truth.ppid).toBe(process.pid);
      const rec = table.attribute(pid);
      expect(rec.recordFlags & (kOpenerExited | kAttributionMissing)).toBe(0);
      expect(rec.comm).toBe('sleep');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps the real uid/gid of a child that dropped privileges', async () => {
    const child = spawn('sleep', ['5'], { uid: 65534, gid: 65534 });
    try {
      const pid = child.pid as number;
      await waitFor('the child to exec sleep', () =>
        readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined,
      );
      expect(table.lookup(pid)).toMatchObject({ uid: 65534, gid: 65534, comm: 'sleep' });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('follows a comm change (PROC_EVENT_COMM)', async () => {
    // Only a task itself may write its comm: the shell renames itself, then waits.
    const child = spawn('sh', ['-c', 'printf renamed > /proc/$$/comm; sleep 5']);
    try {
      const pid = child.pid as number;
      await waitFor('the comm change', () =>
        readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'renamed' ? true : undefined,
      );
      expect(table.lookup(pid)?.comm).toBe('renamed');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("still attributes an opener that exec'd, opened, closed and exited at once", () => {
    const runs = 50;
    const out = spawnSync(forker, [quick, String(runs)], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    const pids = out.stdout.trim().split('\n').map(Number);
    expect(pids).toHaveLength(runs);
    let withExe = 0;
    for (const pid of pids) {
      const rec = table.attribute(pid);
      expect(rec.recordFlags & kAttributionMissing).toBe(0);
      expect(rec.recordFlags & kOpenerExited).toBe(kOpenerExited);
      expect(rec).toMatchObject({
        hostPid: pid,
        hostTid: pid,
        hostPpid: out.pid,
        comm: 'pmgquick',
        exited: true,
      });
      expect(rec.pidNs).toBe(statSync('/proc/self/ns/pid').ino);
      expect(rec.threadStartNs).toBeGreaterThan(0n);
      if (rec.exe === quick) withExe++;
    }
    console.log(
      `fast exec+exit: ${runs}/${runs} named, exe known for ${withExe}/${runs}`,
      table.stats(),
    );
  });

  it('still attributes a forked child that exited without exec (fork data)', () => {
    const out = spawnSync(forker, ['noexec', '20'], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    for (const pid of out.stdout.trim().split('\n').map(Number)) {
      const info = table.lookup(pid);
      expect(info).toMatchObject({
        hostPid: pid,
        hostPpid: out.pid,
        comm: 'pmgforker',
        exited: true,
      });
    }
  });

  it('maps a thread id to its thread group, including a thread started after start()', async () => {
    const before = new Set(readdirSync('/proc/self/task').map(Number));
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    try {
      const tid = await waitFor('the new thread', () =>
        readdirSync('/proc/self/task')
          .map(Number)
          .find((t) => !before.has(t)),
      );
      for (const info of [table.lookup(0, tid), table.lookup(process.pid, tid)]) {
        expect(info).toMatchObject({ hostPid: process.pid, hostTid: tid, hostPpid: process.ppid });
        expect(info?.threadStartNs).toBe(procTruth(process.pid, tid).threadStartNs);
      }
      const other = [...before].find((t) => t !== process.pid) as number;
      expect(table.lookup(0, other)).toMatchObject({ hostPid: process.pid, hostTid: other });
    } finally {
      await worker.terminate();
    }
  });

  it('maps a thread that exited at once to its thread group', async () => {
    const bin = cHelper('pmgthread', { source: 'thread-exit', flags: ['-pthread'] });
    const child = spawn(bin, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[
        Symbol.asyncIterator
      ]();
      const tid = Number((await lines.next()).value);
      expect((await lines.next()).value).toBe('joined');
      const pid = child.pid as number;
      expect(tid).not.toBe(pid);
      expect(table.lookup(0, tid)).toMatchObject({
        hostPid: pid,
        hostTid: tid,
        hostPpid: process.pid,
        comm: 'pmgthread',
        exited: true,
      });
      expect(table.lookup(pid)).toMatchObject({ hostPid: pid, hostTid: pid, exited: false });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("retires the old tid of a thread that exec'd (no exit event for it)", async () => {
    const bin = cHelper('pmgthrexec', { source: 'thread-exec', flags: ['-pthread'] });
    const t = new T.Handle({ graceMs: 100 });
    t.start();
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[
        Symbol.asyncIterator
      ]();
      const tid = Number((await lines.next()).value);
      const pid = child.pid as number;
      await settle(t);
      expect(t.lookup(0, tid)).toMatchObject({ hostPid: pid, hostTid: tid, exited: false });
      child.stdin?.write('\n');
      // comm changes inside exec, before the kernel sends the exec event: wait for the table.
      await waitFor('the table to see sleep', () => {
        const info = t.lookup(pid);
        return info?.comm === 'sleep' && !info.exited ? true : undefined;
      });
      expect(t.lookup(pid)).toMatchObject({ hostPid: pid, comm: 'sleep', exited: false });
      // Marked exited by the sweep, then evicted after the 100 ms grace.
      await waitFor('the old tid to be evicted', () => t.lookup(0, tid) === null);
    } finally {
      t.stop();
      child.kill('SIGKILL');
    }
  });

  it('translates a pid inside unshare --fork --pid --mount-proc with hostPidOf', async () => {
    const u = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'sleep', '5']);
    try {
      const upid = u.pid as number;
      const inner = await waitFor('sleep inside the namespace', () => {
        const c = childrenOf(upid)[0];
        if (c === undefined) return undefined;
        return readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'sleep' ? c : undefined;
      });
      const pidNs = statSync(`/proc/${inner}/ns/pid`).ino;
      expect(pidNs).not.toBe(statSync('/proc/self/ns/pid').ino);
      expect(table.hostPidOf(pidNs, 1)).toBe(inner);
      expect(table.lookup(inner)).toMatchObject({
        hostPid: inner,
        nsPid: 1,
        nsTid: 1,
        nsPpid: 0,
        pidNs,
        comm: 'sleep',
      });
      expect(table.hostPidOf(pidNs, 4242)).toBe(0);
      expect(table.hostPidOf(statSync('/proc/self/ns/pid').ino, process.pid)).toBe(process.pid);
    } finally {
      u.kill('SIGKILL');
    }
  });

  it('attributes fast openers inside a new pid namespace and translates their ns pids', async () => {
    // Inside the namespace the openers print their ns pid (getpid() there). They linger 20 ms
    // so that the table reads them: a child reaped before any read has no known ns pid (no
    // event carries one; bench/process-table.mjs measures that case).
    const u = spawn(
      'unshare',
      ['--fork', '--pid', '--mount-proc', 'sh', '-c', `${forker} ${quick} 20 20000; sleep 5`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: u.stdout as NodeJS.ReadableStream })[
        Symbol.asyncIterator
      ]();
      const nsPids: number[] = [];
      while (nsPids.length < 20) nsPids.push(Number((await lines.next()).value));
      const upid = u.pid as number;
      const sh = childrenOf(upid)[0] as number;
      const pidNs = statSync(`/proc/${sh}/ns/pid`).ino;
      // The last ones linger 20 ms: wait until the table saw every translated one exit.
      await waitFor('the openers to exit', () =>
        nsPids.every((nsPid) => {
          const host = table.hostPidOf(pidNs, nsPid);
          return host === 0 || (table.attribute(host).recordFlags & kOpenerExited) !== 0;
        }),
      );
      // Every one that is translated must be right.
      let translated = 0;
      for (const nsPid of nsPids) {
        const host = table.hostPidOf(pidNs, nsPid);
        if (host === 0) continue;
        translated++;
        expect(host).not.toBe(nsPid);
        const rec = table.attribute(host);
        expect(rec).toMatchObject({ hostPid: host, nsPid, nsTid: nsPid, pidNs, comm: 'pmgquick' });
        expect(rec.nsPpid).toBeGreaterThan(0); // the forker, same namespace
        expect(rec.recordFlags & kOpenerExited).toBe(kOpenerExited);
      }
      console.log(`fast openers in a pid namespace: ${translated}/20 translated`);
      // 20 ms is ample even on a loaded machine; allow a lost race or two on a slow CI runner.
      expect(translated).toBeGreaterThanOrEqual(18);
    } finally {
      u.kill('SIGKILL');
    }
  });

  it('sees a mount namespace change made without exec (refresh of live tasks)', async () => {
    const bin = cHelper('pmgunshare', { source: 'unshare-wait' });
    const hostMnt = statSync('/proc/self/ns/mnt').ino;
    const stale = new T.Handle({ refreshLive: false });
    stale.start();
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[
        Symbol.asyncIterator
      ]();
      expect((await lines.next()).value).toBe('started');
      const pid = child.pid as number;
      await settle(stale); // its exec is applied: the stale table read it before the unshare
      expect(stale.lookup(pid)?.mntNs).toBe(hostMnt);
      child.stdin?.write('\n');
      expect((await lines.next()).value).toBe('ready');
      const mntNs = statSync(`/proc/${pid}/ns/mnt`).ino;
      expect(mntNs).not.toBe(hostMnt);
      expect(table.lookup(pid)?.mntNs).toBe(mntNs);
      // Without the refresh the table keeps what it read at exec: the old namespace.
      expect(stale.lookup(pid)?.mntNs).toBe(hostMnt);
    } finally {
      stale.stop();
      child.kill('SIGKILL');
    }
  });

  it('reports a pid nobody knows as missing', () => {
    const rec = table.attribute(0x3ffffff0);
    expect(rec.recordFlags & kAttributionMissing).toBe(kAttributionMissing);
    expect(rec.comm).toBe('');
  });

  it('evicts exited entries after the grace period', async () => {
    const t = new T.Handle({ graceMs: 100 });
    t.start();
    try {
      const out = spawnSync(forker, [quick, '1'], { encoding: 'utf8' });
      const pid = Number(out.stdout.trim());
      expect(t.lookup(pid)?.exited).toBe(true);
      // Grace 100 ms, swept every 100 ms.
      await waitFor('the exited entry to be evicted', () => t.lookup(pid) === null);
      expect(t.stats().evicted).toBeGreaterThan(0);
    } finally {
      t.stop();
    }
  });

  it('caps the table: exited entries are evicted first, the newest are kept', async () => {
    const t = new T.Handle({ maxEntries: 400 });
    t.start();
    try {
      const out = spawnSync(forker, ['noexec', '1000'], { encoding: 'utf8' });
      const pids = out.stdout.trim().split('\n').map(Number);
      await settle(t);
      expect(t.lookup(pids.at(-1) as number)).toMatchObject({ comm: 'pmgforker', exited: true });
      const s = t.stats();
      expect(s.entries).toBeLessThanOrEqual(400);
      expect(s.evicted).toBeGreaterThan(0);
      expect(t.lookup(process.pid)?.hostPid).toBe(process.pid);
    } finally {
      t.stop();
    }
  });

  it('counts a connector overflow (ENOBUFS), rescans /proc and keeps working', async () => {
    // A tiny receive queue overflows during a fork storm.
    const t = new T.Handle({ receiveBufferBytes: 1, taskstats: false });
    t.start();
    try {
      for (let i = 0; i < 5 && t.stats().connector_overflows === 0; i++) {
        spawnSync(forker, ['noexec', '2000']);
      }
      const s = t.stats();
      expect(s.connector_overflows).toBeGreaterThan(0);
      expect(s.rescans).toBeGreaterThan(0);
      // Lost events cost the exits of some storm children, but live tasks are still found.
      const live = spawn('sleep', ['5']);
      try {
        const pid = live.pid as number;
        await waitFor('the child to exec sleep', () =>
          readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' ? true : undefined,
        );
        expect(t.lookup(pid)).toMatchObject({ hostPid: pid, comm: 'sleep', exited: false });
      } finally {
        live.kill('SIGKILL');
      }
    } finally {
      t.stop();
    }
  });

  it('verifies at start that process events arrive', () => {
    expect(table.stats().connector_verified).toBe(1);
  });

  it('fails with an actionable error in a network namespace the proc connector ignores', () => {
    const script = `const T = require(${JSON.stringify(testAddonPath)});
      try { new T.Handle().start(); console.log('started'); }
      catch (e) { console.log(e.code + ': ' + e.message); }`;
    const out = execFileSync('unshare', ['--net', process.execPath, '-e', script], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/^INTERNAL: .*proc connector.*initial network namespace/);
  });

  it('start/stop 50 times leaves no fds or threads behind', () => {
    // Our kinds of fds only (other tests' child pipes close asynchronously): eventfds and
    // netlink sockets (inodes listed in /proc/self/net/netlink).
    const fds = () => {
      const netlink = new Set(
        readFileSync('/proc/self/net/netlink', 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/).at(-1)),
      );
      return readdirSync('/proc/self/fd').filter((fd) => {
        let target = '';
        try {
          target = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return false; // closed meanwhile (the readdir fd itself)
        }
        const sock = target.match(/^socket:\[(\d+)\]$/);
        return target === 'anon_inode:[eventfd]' || (sock !== null && netlink.has(sock[1]));
      }).length;
    };
    const ourThreads = () =>
      readdirSync('/proc/self/task').filter(
        (t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === 'pmg-proctable',
      ).length;
    const n0 = ourThreads(); // the shared table's thread
    const t = new T.Handle();
    t.start();
    expect(ourThreads()).toBe(n0 + 1);
    t.stop();
    const f0 = fds();
    t.start();
    expect(fds()).toBeGreaterThanOrEqual(f0 + 3); // connector, taskstats, eventfd
    t.stop();
    expect(fds()).toBe(f0);
    for (let i = 0; i < 50; i++) {
      t.start();
      t.stop();
    }
    expect(fds()).toBe(f0);
    expect(ourThreads()).toBe(n0);
  });
});
