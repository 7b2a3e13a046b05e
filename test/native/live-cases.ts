// The live capture cases every backend must pass: one table, run by fanotify.test.ts and
// audit.test.ts with what legitimately differs between backends passed in. Real processes, real
// opens; needs root (CI runs as root).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FlagsSourceValue, RecordFlag } from '../../src/capture/record.js';
import type { NativeBackendName } from '../../src/native.js';
import { countEntries, type Harness, startHarness } from './capture-harness.js';

export interface BackendExpectations {
  backend: NativeBackendName;
  /** How the flags of an open whose fd is closed at once may have been obtained. */
  quickFlags: FlagsSourceValue[];
  /** ... and of an open whose fd is still held when the event is read. */
  heldFlags: FlagsSourceValue[];
  /** Backend-specific checks on a live harness after the first reported read. */
  whileRunning?: (h: Harness) => void;
  /** Backend-specific checks that nothing is left in the kernel after the last stop. */
  afterStop?: (h: Harness) => void;
}

const isRoot = process.geteuid?.() === 0;
const O_ACCMODE = 3;

function dd(args: string[]): number {
  const res = spawnSync('dd', [...args, 'of=/dev/null', 'bs=1', 'count=0'], { stdio: 'ignore' });
  if (res.error) throw res.error;
  return res.pid ?? 0;
}

export function describeLiveCases(b: BackendExpectations): void {
  describe.skipIf(!isRoot)(`${b.backend} capture (live, root)`, () => {
    let victim: ChildProcess;
    let h: Harness;
    const start = (ringCapacity?: number) => startHarness(ringCapacity, b.backend);

    beforeAll(() => {
      victim = spawn('sleep', ['600'], { stdio: 'ignore' });
    });
    afterAll(() => {
      victim.kill('SIGKILL');
    });
    afterEach(() => h?.stop());

    it("reports dd reading another live process's /proc/<pid>/mem", async () => {
      h = start();
      const target = victim.pid ?? 0;
      const opener = dd([`if=/proc/${target}/mem`]);
      const r = await h.waitFor((x) => x.hostPid === opener);
      expect(r.comm).toBe('dd');
      expect(r.exe).toMatch(/\/dd$/);
      expect(r.targetPid).toBe(target);
      expect(r.targetTid).toBe(target);
      expect(r.recordFlags & RecordFlag.procfsMem).toBeTruthy();
      expect(r.recordFlags & RecordFlag.threadMem).toBe(0);
      expect(r.pathname).toBe(`/proc/${target}/mem`);
      expect(r.openFlags & O_ACCMODE).toBe(0); // O_RDONLY
      expect(b.quickFlags).toContain(r.flagsSource);
      expect(h.capture.stats().emitted).toBeGreaterThanOrEqual(1);
      b.whileRunning?.(h);
    });

    it('reports /proc/self/mem as a self-target read', async () => {
      h = start();
      // The shell holds the fd while it waits for sleep, so the file and its flags are readable.
      const sh = spawn('sh', ['-c', 'exec 3</proc/self/mem; sleep 0.5'], { stdio: 'ignore' });
      const r = await h.waitFor((x) => x.hostPid === sh.pid);
      expect(r.targetPid).toBe(sh.pid);
      expect(r.recordFlags & RecordFlag.selfTarget).toBeTruthy();
      expect(r.recordFlags & RecordFlag.procfsMem).toBeTruthy();
      expect(b.heldFlags).toContain(r.flagsSource);
      expect(r.openFlags & O_ACCMODE).toBe(0);
      await new Promise((r) => sh.on('exit', r));
    });

    it('reports dd reading its own mem and exiting at once (target gone before the read)', async () => {
      h = start();
      const opener = dd(['if=/proc/self/mem']);
      const r = await h.waitFor((x) => x.hostPid === opener);
      expect(r.comm).toBe('dd');
      // Either the file was identified in time, or the kernel told us the target was gone.
      const selfSeen = (r.recordFlags & RecordFlag.selfTarget) !== 0 && r.targetPid === opener;
      const goneSeen =
        (r.recordFlags & (RecordFlag.fileUnknown | RecordFlag.targetExited)) ===
        (RecordFlag.fileUnknown | RecordFlag.targetExited);
      expect(selfSeen || goneSeen).toBe(true);
    });

    it('reports /proc/<pid>/task/<tid>/mem as a thread mem file', async () => {
      h = start();
      const target = victim.pid ?? 0;
      const opener = dd([`if=/proc/${target}/task/${target}/mem`]);
      const r = await h.waitFor((x) => x.hostPid === opener);
      expect(r.recordFlags & RecordFlag.threadMem).toBeTruthy();
      expect(r.targetPid).toBe(target);
      expect(r.targetTid).toBe(target);
    });

    it('reports a write open with write access flags', async () => {
      h = start();
      const target = victim.pid ?? 0;
      const res = spawnSync(
        'dd',
        ['if=/dev/null', `of=/proc/${target}/mem`, 'conv=notrunc', 'bs=1', 'count=0'],
        { stdio: 'ignore' },
      );
      const r = await h.waitFor((x) => x.hostPid === res.pid);
      expect(r.openFlags & O_ACCMODE).not.toBe(0);
    });

    it('reports a mem open inside unshare --fork --pid --mount-proc, with host target pid', async () => {
      h = start();
      // The namespace's procfs is mounted after start: the periodic rescan must cover it
      // before the open (1.5 s later).
      const res = spawnSync(
        'unshare',
        [
          '--fork',
          '--pid',
          '--mount-proc',
          'sh',
          '-c',
          'sleep 1.5; dd if=/proc/1/mem of=/dev/null bs=1 count=0',
        ],
        { stdio: 'ignore' },
      );
      expect(res.status).toBe(0);
      const r = await h.waitFor((x) => x.comm === 'dd' && x.pathname === '/proc/1/mem');
      expect(r.recordFlags & RecordFlag.procfsMem).toBeTruthy();
      expect(r.targetPid).not.toBe(1); // translated to the host pid of the namespace's init
      expect(r.targetPid).toBeGreaterThan(1);
      expect(r.nsPid).not.toBe(r.hostPid);
      expect(h.capture.stats().procfs_instances).toBeGreaterThanOrEqual(2);
    });

    it('gives nothing for ps, top and reads of maps, status, environ', async () => {
      h = start();
      const target = victim.pid ?? 0;
      spawnSync('ps', ['aux'], { stdio: 'ignore' });
      spawnSync('top', ['-bn1'], { stdio: 'ignore' });
      for (const f of ['maps', 'status', 'environ']) {
        spawnSync('cat', [`/proc/${target}/${f}`], { stdio: 'ignore' });
      }
      const marker = dd([`if=/proc/${target}/mem`]); // a positive after the negatives
      await h.waitFor((x) => x.hostPid === marker);
      expect(h.records.filter((x) => x.hostPid !== marker)).toEqual([]);
      expect(h.capture.stats().filtered_not_mem).toBeGreaterThan(100);
    });

    it('reports a mem read during a procfs open storm, any loss visible', async () => {
      h = start();
      const target = victim.pid ?? 0;
      const storm = spawn(
        process.execPath,
        [
          '-e',
          "const fs=require('fs');const t=Date.now()+1500;let n=0;while(Date.now()<t){for(let i=0;i<1000;i++){fs.closeSync(fs.openSync('/proc/self/stat','r'));}n+=1000}console.log(n)",
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let opens = '';
      storm.stdout?.on('data', (d) => {
        opens += d;
      });
      await new Promise((r) => setTimeout(r, 500));
      const opener = dd([`if=/proc/${target}/mem`]);
      await new Promise((r) => storm.on('exit', r));
      const losses = h.reader.losses();
      const lost = Object.values(losses).reduce((a, n) => a + n, 0);
      if (lost === 0) {
        const r = await h.waitFor((x) => x.hostPid === opener, 10_000);
        expect(r.targetPid).toBe(target);
      } else {
        expect(lost).toBeGreaterThan(0); // reported, not silent
      }
      const stats = h.capture.stats();
      console.log(`${b.backend} storm: ${opens.trim()} opens, losses ${JSON.stringify(losses)}`);
      console.log(`${b.backend} storm stats ${JSON.stringify(stats)}`);
    });

    it('start/stop 100 times leaves no fds or threads behind', async () => {
      const warm = start(); // first start creates lasting helpers (libuv, V8 platform)
      warm.stop();
      await new Promise((r) => setTimeout(r, 50));
      const fds = countEntries('/proc/self/fd');
      const threads = countEntries('/proc/self/task');
      h = start(16);
      for (let i = 0; i < 100; i++) {
        h.stop();
        h.capture.start();
      }
      h.stop();
      h.stop(); // idempotent
      await new Promise((r) => setTimeout(r, 50));
      expect(countEntries('/proc/self/fd')).toBe(fds);
      expect(countEntries('/proc/self/task')).toBe(threads);
      b.afterStop?.(h);
    });
  });
}
