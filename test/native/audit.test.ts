// Live tests of what is specific to the audit backend, against the real kernel, through
// createCapture({ backend: 'audit' }) and the shared ring (the cases common to every backend are
// in test/live/capture.test.ts). Needs root and PMG_TEST_HOST_STATE=1 (it changes the host's
// audit configuration and starts auditd); uses auditctl/auditd when installed (Debian package
// auditd; CI installs it).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendId, FlagsSource, RecordFlag } from '../../src/capture/record.js';
import { loadNative, nativeAddonPath } from '../../src/native.js';
import { cHelper, commandPath, hasCommand, liveName, runsHere, waitFor } from '../helpers/live.js';
import { type Harness, startHarness } from './capture-harness.js';

const hasAuditctl = runsHere(true) && hasCommand('auditctl');
const hasAuditd = runsHere(true) && hasCommand('auditd');
const KEY = 'procmem-guard';
const O_ACCMODE = 3;
const STATE_FILE = '/run/procmem-guard/audit.state';

const addon = () => loadNative();
const start = () => startHarness(undefined, 'audit');

// Everything the host's audit configuration consists of that we promise to leave as it was.
function auditSnapshot() {
  const st = addon().auditStatus();
  return {
    enabled: st.enabled,
    pid: st.pid,
    backlogLimit: st.backlogLimit,
    backlogWaitTime: st.backlogWaitTime,
    rules: hasAuditctl
      ? execFileSync('auditctl', ['-l']).toString()
      : JSON.stringify(addon().auditListRules()),
  };
}

// The record of the open made by process `pid`, once it arrives.
const recordOf = (h: Harness, pid: number | undefined) => h.waitFor((r) => r.hostPid === pid);

const ours = () =>
  addon()
    .auditListRules()
    .filter((r) => r.key === KEY);

describe.skipIf(!runsHere(true))(liveName('audit backend specifics (live)', true), () => {
  let before: ReturnType<typeof auditSnapshot>;
  let sleeper: ChildProcess;
  let target = 0;

  beforeAll(() => {
    if (hasAuditctl) {
      spawnSync('auditctl', ['-W', '/etc/hostname', '-k', 'pmg-test-keep']); // left by a failed run
      execFileSync('auditctl', ['-w', '/etc/hostname', '-k', 'pmg-test-keep']);
    }
    before = auditSnapshot();
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    target = sleeper.pid ?? 0;
  });
  afterAll(() => {
    sleeper?.kill('SIGKILL');
    if (hasAuditctl) spawnSync('auditctl', ['-W', '/etc/hostname', '-k', 'pmg-test-keep']);
  });

  describe('capture', () => {
    let h: Harness;
    beforeAll(() => {
      h = start();
    });
    afterAll(() => h.stop());

    it('installs rules with our key and takes the daemon role or joins the read-log group', () => {
      expect(ours().length).toBeGreaterThanOrEqual(2); // b64 + b32 for the host procfs
      expect(addon().auditStatus().enabled).toBe(1);
      expect([1, 2]).toContain(h.capture.stats().mode);
      expect(h.capture.backend).toBe('audit');
      // As the audit daemon we never let the kernel make a logging task wait for backlog room.
      if (before.pid === 0) {
        expect(h.capture.stats().mode).toBe(1);
        expect(addon().auditStatus().backlogWaitTime).toBe(0);
      }
    });

    it('reports dd reading a live process: opener, target, exact O_RDONLY, syscall path', async () => {
      const path = `/proc/${target}/mem`;
      const dd = spawnSync('dd', [`if=${path}`, 'of=/dev/null', 'bs=1', 'count=0']);
      expect(dd.status).toBe(0);
      const r = await recordOf(h, dd.pid);
      expect(r.backend).toBe(BackendId.audit);
      expect(r.comm).toBe('dd');
      expect(r.exe).toBe(commandPath('dd'));
      expect(r.hostPpid).toBe(process.pid);
      expect(r.uid).toBe(0);
      expect(r.targetPid).toBe(target);
      expect(r.targetTid).toBe(target);
      expect(r.openFlags & O_ACCMODE).toBe(0);
      expect(r.flagsSource).toBe(FlagsSource.syscall);
      expect(r.syscallPathname).toBe(path);
      expect(r.pathname).toBe(path);
      expect(r.recordFlags & RecordFlag.procfsMem).toBeTruthy();
      expect(r.recordFlags & RecordFlag.threadMem).toBe(0);
      expect(r.dev).toBe(BigInt(statSync('/proc').dev));
      expect(r.syscallNr).toBe(257);
      expect(r.returnValue).toBeGreaterThanOrEqual(0);
    });

    it('reports an O_WRONLY open with its exact flags', async () => {
      const sh = spawnSync('sh', ['-c', `exec 3>/proc/${target}/mem`]);
      expect(sh.status).toBe(0);
      const r = await recordOf(h, sh.pid);
      expect(r.openFlags & O_ACCMODE).toBe(1);
      expect(r.flagsSource).toBe(FlagsSource.syscall);
      expect(r.targetPid).toBe(target);
    });

    it('reports /proc/self/mem as the opener itself, with the path as passed', async () => {
      const dd = spawnSync('dd', ['if=/proc/self/mem', 'of=/dev/null', 'bs=1', 'count=0']);
      const r = await recordOf(h, dd.pid);
      expect(r.targetPid).toBe(dd.pid);
      expect(r.syscallPathname).toBe('/proc/self/mem');
      expect(r.pathname).toBe(`/proc/${dd.pid}/mem`);
      expect(r.recordFlags & RecordFlag.selfTarget).toBeTruthy();
    });

    it('resolves a relative name against the opener CWD, and task/<tid>/mem', async () => {
      const dd = spawnSync('dd', [`if=task/${target}/mem`, 'of=/dev/null', 'count=0'], {
        cwd: `/proc/${target}`,
      });
      const r = await recordOf(h, dd.pid);
      expect(r.syscallPathname).toBe(`task/${target}/mem`);
      expect(r.pathname).toBe(`/proc/${target}/task/${target}/mem`);
      expect(r.targetPid).toBe(target);
      expect(r.targetTid).toBe(target);
      expect(r.recordFlags & RecordFlag.threadMem).toBeTruthy();
    });

    it('reports openat2 with flags read from fdinfo', async () => {
      const o = spawnSync(cHelper('openat2_open'), [`/proc/${target}/mem`, 'rw', '300']);
      expect(o.stdout.toString()).toMatch(/fd=\d+/);
      const r = await recordOf(h, o.pid);
      expect(r.syscallNr).toBe(437);
      expect(r.flagsSource).toBe(FlagsSource.fdinfo);
      expect(r.openFlags & O_ACCMODE).toBe(2);
    });

    it('reports opens submitted through io_uring (best effort)', async () => {
      const bin = cHelper('uring_open');
      // Measured: an IORING_OP_OPENAT completed inline is audited; the first open of a path
      // (punted to an io-wq worker) was not. So several tries, and at least one must be seen.
      const pids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const u = spawnSync(bin, [`/proc/${target}/mem`, '300']);
        expect(u.stdout.toString()).toMatch(/res=\d+/);
        pids.push(u.pid ?? 0);
      }
      const r = await h.waitFor((x) => pids.includes(x.hostPid));
      expect(r.targetPid).toBe(target);
      expect(r.syscallPathname).toBe(`/proc/${target}/mem`);
      expect(r.syscallNr).toBe(257); // IORING_OP_OPENAT is reported as openat
      expect(r.flagsSource).toBe(FlagsSource.fdinfo); // found by inode: the record has no fd
      expect(r.openFlags & O_ACCMODE).toBe(0);
      expect(r.comm).toBe('uring_open'); // from the process table: URINGOP has no comm
    });

    it('sees opens through a bind mount of /proc', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pmg-bind-'));
      execFileSync('mount', ['--bind', '/proc', dir]);
      let dd: ReturnType<typeof spawnSync>;
      try {
        dd = spawnSync('dd', [`if=${dir}/${target}/mem`, 'of=/dev/null', 'count=0']);
      } finally {
        execFileSync('umount', ['-l', dir]); // lazy: another watcher's mount mark can hold it
        rmdirSync(dir);
      }
      const r = await recordOf(h, dd.pid);
      expect(r.targetPid).toBe(target);
      expect(r.pathname).toBe(`${dir}/${target}/mem`);
      expect(r.recordFlags & RecordFlag.procfsMem).toBeTruthy();
    });
  });

  it('restores the audit rules and enabled state on stop, every time', () => {
    for (let i = 0; i < 5; i++) start().stop();
    expect(auditSnapshot()).toEqual(before);
    expect(existsSync(STATE_FILE)).toBe(false);
  });

  it('refuses a second watcher while one runs', () => {
    const a = start();
    try {
      expect(() => start()).toThrow(/another procmem-guard watcher/);
    } finally {
      a.stop();
    }
    expect(auditSnapshot()).toEqual(before);
  });

  it('after SIGKILL of a watcher, the next start and stop restore everything', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const a = require(${JSON.stringify(nativeAddonPath())}); const c = a.createCapture({ backend: 'audit', onWake() {} }); c.start(); console.log('READY');`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res, rej) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('READY') && res());
      child.on('exit', (code) => rej(new Error(`watcher exited ${code}`)));
    });
    expect(ours().length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(STATE_FILE)).toBe(true);
    expect(ours().length).toBeGreaterThan(0); // stale, until the next start

    const h = start();
    await waitFor('the recovery warning', () => /did not stop cleanly/.test(h.warnings.join('\n')));
    h.stop();
    expect(auditSnapshot()).toEqual(before);
  });

  it.runIf(hasAuditd && hasAuditctl)(
    'an auditd started while we hold the daemon role gets it on its next attempt',
    async () => {
      expect(addon().auditStatus().pid).toBe(0);
      const h = start();
      let auditdPid = 0;
      try {
        expect(h.capture.stats().mode).toBe(1);
        // The kernel refuses to replace a live daemon: auditd's first start fails (exit 1, which
        // systemd's Restart=on-failure retries); the AUDIT_REPLACE probe makes us step aside.
        const first = spawnSync('auditd');
        await waitFor('the capture to leave the daemon role', () => h.capture.stats().mode === 2);
        expect(h.capture.stats().mode).toBe(2);
        if (first.status !== 0) execFileSync('auditd');
        auditdPid = await waitFor(
          'auditd to register',
          () => addon().auditStatus().pid || undefined,
        );
        expect(auditdPid).toBeGreaterThan(0);
        expect(auditdPid).not.toBe(process.pid);
        const dd = spawnSync('dd', [`if=/proc/${target}/mem`, 'of=/dev/null', 'count=0']);
        expect((await recordOf(h, dd.pid)).targetPid).toBe(target);
      } finally {
        h.stop();
      }
      expect(addon().auditStatus().pid).toBe(auditdPid); // still auditd's after our stop
      await stopAuditd(auditdPid, before.enabled);
      expect(auditSnapshot()).toEqual(before);
    },
  );

  describe.runIf(hasAuditd && hasAuditctl)('with auditd running', () => {
    let auditdPid = 0;
    const conf = '/etc/audit/auditd.conf';
    let confBefore = '';
    const log = '/var/log/audit/audit.log';

    beforeAll(async () => {
      confBefore = readFileSync(conf, 'utf8');
      expect(addon().auditStatus().pid).toBe(0); // the test owns auditd's lifecycle
      execFileSync('auditd');
      auditdPid = await waitFor('auditd to register', () => addon().auditStatus().pid || undefined);
      expect(auditdPid).toBeGreaterThan(0);
    });
    afterAll(async () => {
      await stopAuditd(auditdPid, before.enabled);
      expect(auditSnapshot()).toEqual(before);
    });

    it('both auditd and our capture receive the event; auditd is untouched', async () => {
      const statusBefore = addon().auditStatus();
      const rulesBefore = execFileSync('auditctl', ['-l']).toString();
      const h = start();
      try {
        expect(h.capture.stats().mode).toBe(2); // read-log group, not the daemon role
        expect(addon().auditStatus().pid).toBe(auditdPid);
        const dd = spawnSync('dd', [`if=/proc/${target}/mem`, 'of=/dev/null', 'count=0']);
        expect((await recordOf(h, dd.pid)).targetPid).toBe(target);
        // auditd writes asynchronously and logs every procfs open of the host: allow 10 s
        const logged = await waitFor(
          "auditd's log line for the open",
          () =>
            readFileSync(log, 'utf8')
              .split('\n')
              .some((l) => l.includes(`pid=${dd.pid} `) && l.includes(`key="${KEY}"`)),
          10_000,
        );
        expect(logged).toBe(true);
      } finally {
        h.stop();
      }
      const statusAfter = addon().auditStatus();
      expect(statusAfter.pid).toBe(auditdPid);
      expect(statusAfter.enabled).toBe(statusBefore.enabled);
      expect(statusAfter.backlogLimit).toBe(statusBefore.backlogLimit);
      expect(execFileSync('auditctl', ['-l']).toString()).toBe(rulesBefore);
      expect(readFileSync(conf, 'utf8')).toBe(confBefore);
    });
  });
});

// Stops the auditd the test started and puts the enabled flag back (auditd enables audit).
async function stopAuditd(pid: number, enabled: number) {
  if (pid) process.kill(pid, 'SIGTERM');
  await waitFor('auditd to unregister', () => addon().auditStatus().pid === 0);
  if (addon().auditStatus().enabled !== enabled) {
    execFileSync('auditctl', ['-e', String(enabled)]);
  }
}
