// Live tests of the audit backend against the real kernel (run as root; CI installs auditd).
// TEMPORARY: uses the audit branch's AuditTestCapture glue and decodes records here; at merge
// these cases move to the shared live-case table run through createCapture({backend: 'audit'}).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const addonPath = resolve(__dirname, '../../build/Release/procmem_guard.node');

interface AuditStatus {
  enabled: number;
  failure: number;
  pid: number;
  backlogLimit: number;
  lost: number;
  backlog: number;
}
interface TestCapture {
  start(): void;
  stop(): void;
  drain(): Buffer[];
  stats(): Record<string, number> & { lost: number[]; warnings: string[] };
}
interface AuditAddon {
  auditStatus(): AuditStatus;
  auditListRules(): { key: string; flags: number; action: number; fieldCount: number }[];
  AuditTestCapture: new () => TestCapture;
}

const isRoot = process.geteuid?.() === 0;
const addon = (isRoot ? require(addonPath) : undefined) as AuditAddon;
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const hasAuditctl = isRoot && which('auditctl');
const hasAuditd = isRoot && which('auditd');
const hasPython = which('python3');
const KEY = 'procmem-guard';

interface Rec {
  backend: number;
  flagsSource: number;
  pid: number;
  ppid: number;
  uid: number;
  targetPid: number;
  targetTid: number;
  openFlags: number;
  recordFlags: number;
  dev: bigint;
  syscallNr: number;
  comm: string;
  pathname: string;
  syscallPathname: string;
  exe: string;
}
const str = (b: Buffer, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return s.toString('utf8', 0, nul < 0 ? len : nul);
};
// Offsets from native/record.h.
const decode = (b: Buffer): Rec => ({
  backend: b.readUInt8(6),
  flagsSource: b.readUInt8(7),
  pid: b.readInt32LE(24),
  ppid: b.readInt32LE(32),
  uid: b.readUInt32LE(48),
  targetPid: b.readInt32LE(56),
  targetTid: b.readInt32LE(60),
  openFlags: b.readInt32LE(64),
  recordFlags: b.readUInt32LE(76),
  dev: b.readBigUInt64LE(80),
  syscallNr: b.readUInt32LE(124),
  comm: str(b, 128, 16),
  pathname: str(b, 216, 256),
  syscallPathname: str(b, 472, 256),
  exe: str(b, 728, 256),
});
const K_PROCFS_MEM = 1;
const K_THREAD_MEM = 2;
const K_SELF_TARGET = 1 << 6;
const FLAGS_SYSCALL = 3;
const FLAGS_FDINFO = 1;
const O_ACCMODE = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Everything the host's audit configuration consists of that we promise to leave as it was.
function auditSnapshot() {
  const st = addon.auditStatus();
  return {
    enabled: st.enabled,
    pid: st.pid,
    backlogLimit: st.backlogLimit,
    rules: hasAuditctl
      ? execFileSync('auditctl', ['-l']).toString()
      : JSON.stringify(addon.auditListRules()),
  };
}

async function waitFor(cap: TestCapture, pred: (r: Rec) => boolean, ms = 4000): Promise<Rec[]> {
  const seen: Rec[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    seen.push(...cap.drain().map(decode));
    if (seen.some(pred)) return seen;
    await sleep(25);
  }
  return seen;
}

// The record of the open made by process `pid`, once it arrives.
async function recordOf(cap: TestCapture, pid: number | undefined): Promise<Rec | undefined> {
  const recs = await waitFor(cap, (r) => r.pid === pid);
  return recs.find((r) => r.pid === pid);
}

describe.runIf(isRoot)('audit backend (live)', () => {
  let before: ReturnType<typeof auditSnapshot>;
  let sleeper: ChildProcess;

  beforeAll(() => {
    if (hasAuditctl) {
      spawnSync('auditctl', ['-W', '/etc/hostname', '-k', 'pmg-test-keep']); // left by a failed run
      execFileSync('auditctl', ['-w', '/etc/hostname', '-k', 'pmg-test-keep']);
    }
    before = auditSnapshot();
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  });
  afterAll(() => {
    sleeper?.kill('SIGKILL');
    if (hasAuditctl) spawnSync('auditctl', ['-W', '/etc/hostname', '-k', 'pmg-test-keep']);
  });

  describe('capture', () => {
    let cap: TestCapture;
    beforeAll(() => {
      cap = new addon.AuditTestCapture();
      cap.start();
    });
    afterAll(() => cap.stop());
    afterEach(() => cap.drain());

    it('installs rules with our key and takes the daemon role or joins the read-log group', () => {
      const ours = addon.auditListRules().filter((r) => r.key === KEY);
      expect(ours.length).toBeGreaterThanOrEqual(1);
      expect(addon.auditStatus().enabled).toBe(1);
      expect([1, 2]).toContain(cap.stats().mode);
    });

    it('reports dd reading a live process: opener, target, exact O_RDONLY, syscall path', async () => {
      const path = `/proc/${sleeper.pid}/mem`;
      const dd = spawnSync('dd', [`if=${path}`, 'of=/dev/null', 'bs=1', 'count=0']);
      expect(dd.status).toBe(0);
      const r = await recordOf(cap, dd.pid);
      expect(r).toBeDefined();
      if (!r) return;
      expect(r.backend).toBe(2);
      expect(r.comm).toBe('dd');
      expect(r.exe).toBe(
        realpathSync(execFileSync('sh', ['-c', 'command -v dd']).toString().trim()),
      );
      expect(r.ppid).toBe(process.pid);
      expect(r.uid).toBe(0);
      expect(r.targetPid).toBe(sleeper.pid);
      expect(r.targetTid).toBe(sleeper.pid);
      expect(r.openFlags & O_ACCMODE).toBe(0);
      expect(r.flagsSource).toBe(FLAGS_SYSCALL);
      expect(r.syscallPathname).toBe(path);
      expect(r.pathname).toBe(path);
      expect(r.recordFlags & K_PROCFS_MEM).toBeTruthy();
      expect(r.dev).toBe(BigInt(statSync('/proc').dev));
      expect(r.syscallNr).toBe(257);
    });

    it('reports an O_WRONLY open with its exact flags', async () => {
      const sh = spawnSync('sh', ['-c', `exec 3>/proc/${sleeper.pid}/mem`]);
      expect(sh.status).toBe(0);
      const r = await recordOf(cap, sh.pid);
      expect(r?.openFlags !== undefined && r.openFlags & O_ACCMODE).toBe(1);
      expect(r?.flagsSource).toBe(FLAGS_SYSCALL);
      expect(r?.targetPid).toBe(sleeper.pid);
    });

    it('reports /proc/self/mem as the opener itself, with the path as passed', async () => {
      const dd = spawnSync('dd', ['if=/proc/self/mem', 'of=/dev/null', 'bs=1', 'count=0']);
      const r = await recordOf(cap, dd.pid);
      expect(r?.targetPid).toBe(dd.pid);
      expect(r?.syscallPathname).toBe('/proc/self/mem');
      expect(r?.pathname).toBe(`/proc/${dd.pid}/mem`);
      expect((r?.recordFlags ?? 0) & K_SELF_TARGET).toBeTruthy();
    });

    it('resolves a relative name against the opener CWD, and task/<tid>/mem', async () => {
      const pid = sleeper.pid as number;
      const dd = spawnSync('dd', [`if=task/${pid}/mem`, 'of=/dev/null', 'count=0'], {
        cwd: `/proc/${pid}`,
      });
      const r = await recordOf(cap, dd.pid);
      expect(r?.syscallPathname).toBe(`task/${pid}/mem`);
      expect(r?.pathname).toBe(`/proc/${pid}/task/${pid}/mem`);
      expect(r?.targetPid).toBe(pid);
      expect(r?.targetTid).toBe(pid);
      expect((r?.recordFlags ?? 0) & K_THREAD_MEM).toBeTruthy();
    });

    it.runIf(hasPython)('reports openat2 with flags read from fdinfo', async () => {
      const script = [
        'import ctypes, os, sys, struct, time',
        'how = struct.pack("QQQ", os.O_RDWR | os.O_CLOEXEC, 0, 0)',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'fd = libc.syscall(437, -100, sys.argv[1].encode(), ctypes.c_char_p(how), 24)',
        'assert fd >= 0, ctypes.get_errno()',
        'time.sleep(0.5)',
      ].join('\n');
      const py = spawnSync('python3', ['-c', script, `/proc/${sleeper.pid}/mem`]);
      expect(py.status).toBe(0);
      const r = await recordOf(cap, py.pid);
      expect(r?.syscallNr).toBe(437);
      expect(r?.flagsSource).toBe(FLAGS_FDINFO);
      expect((r?.openFlags ?? 0) & O_ACCMODE).toBe(2);
    });

    it('sees opens through a bind mount of /proc', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pmg-bind-'));
      execFileSync('mount', ['--bind', '/proc', dir]);
      let dd: ReturnType<typeof spawnSync>;
      try {
        dd = spawnSync('dd', [`if=${dir}/${sleeper.pid}/mem`, 'of=/dev/null', 'count=0']);
      } finally {
        execFileSync('umount', ['-l', dir]); // lazy: another watcher's mount mark can hold it
        rmdirSync(dir);
      }
      const r = await recordOf(cap, dd.pid);
      expect(r?.targetPid).toBe(sleeper.pid);
      expect(r?.pathname).toBe(`${dir}/${sleeper.pid}/mem`);
      expect((r?.recordFlags ?? 0) & K_PROCFS_MEM).toBeTruthy();
    });

    it('sees a procfs instance of another pid namespace (unshare --mount-proc)', async () => {
      const inner = spawn(
        'unshare',
        [
          '--fork',
          '--pid',
          '--mount-proc',
          'sh',
          '-c',
          'sleep 1.5; dd if=/proc/1/mem of=/dev/null count=0',
        ],
        { stdio: 'ignore' },
      );
      const recs = await waitFor(
        cap,
        (r) => r.comm === 'dd' && r.syscallPathname === '/proc/1/mem',
        6000,
      );
      inner.kill();
      const r = recs.find((x) => x.comm === 'dd' && x.syscallPathname === '/proc/1/mem');
      expect(r).toBeDefined();
      expect(r?.dev).not.toBe(BigInt(statSync('/proc').dev));
      expect((r?.recordFlags ?? 0) & K_PROCFS_MEM).toBeTruthy();
    });

    it('ignores other procfs files (maps, status, environ, stat)', async () => {
      const pid = sleeper.pid;
      const cat = spawnSync('cat', [
        `/proc/${pid}/maps`,
        `/proc/${pid}/status`,
        `/proc/${pid}/environ`,
      ]);
      spawnSync('ps', ['aux']);
      const recs = await waitFor(cap, () => false, 800);
      expect(recs.filter((r) => r.pid === cat.pid)).toEqual([]);
      expect(recs.filter((r) => r.comm === 'ps')).toEqual([]);
      expect(cap.stats().filtered).toBeGreaterThan(0);
    });
  });

  it('restores the audit rules and enabled state on stop, many times', () => {
    for (let i = 0; i < 5; i++) {
      const cap = new addon.AuditTestCapture();
      cap.start();
      cap.stop();
    }
    expect(auditSnapshot()).toEqual(before);
    expect(existsSync('/run/procmem-guard/audit.state')).toBe(false);
  });

  it('refuses a second watcher while one runs', () => {
    const a = new addon.AuditTestCapture();
    a.start();
    try {
      const b = new addon.AuditTestCapture();
      expect(() => b.start()).toThrow(/another procmem-guard watcher/);
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
        `const a = require(${JSON.stringify(addonPath)}); new a.AuditTestCapture().start(); console.log('READY'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res, rej) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('READY') && res());
      child.on('exit', (code) => rej(new Error(`watcher exited ${code}`)));
    });
    expect(addon.auditListRules().some((r) => r.key === KEY)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(existsSync('/run/procmem-guard/audit.state')).toBe(true);
    expect(addon.auditListRules().some((r) => r.key === KEY)).toBe(true); // stale, until restart

    const cap = new addon.AuditTestCapture();
    cap.start();
    expect(cap.stats().warnings.join('\n')).toMatch(/did not stop cleanly/);
    cap.stop();
    expect(auditSnapshot()).toEqual(before);
  });

  it.runIf(hasAuditd && hasAuditctl)(
    'an auditd started while we hold the daemon role gets it on its next attempt',
    async () => {
      const statusBefore = addon.auditStatus();
      expect(statusBefore.pid).toBe(0);
      const cap = new addon.AuditTestCapture();
      cap.start();
      let auditdPid = 0;
      try {
        expect(cap.stats().mode).toBe(1);
        // The kernel refuses to replace a live daemon: auditd's first start fails (exit 1, which
        // systemd's Restart=on-failure retries); the AUDIT_REPLACE probe makes us step aside.
        const first = spawnSync('auditd');
        for (let i = 0; i < 40 && cap.stats().mode !== 2; i++) await sleep(50);
        expect(cap.stats().mode).toBe(2);
        if (first.status === 0) auditdPid = addon.auditStatus().pid;
        else execFileSync('auditd');
        for (let i = 0; i < 100 && !auditdPid; i++) {
          auditdPid = addon.auditStatus().pid;
          if (!auditdPid) await sleep(50);
        }
        expect(auditdPid).toBeGreaterThan(0);
        expect(auditdPid).not.toBe(process.pid);
        const dd = spawnSync('dd', [`if=/proc/${sleeper.pid}/mem`, 'of=/dev/null', 'count=0']);
        expect(await recordOf(cap, dd.pid)).toBeDefined();
      } finally {
        cap.stop();
      }
      expect(addon.auditStatus().pid).toBe(auditdPid); // still auditd's after our stop
      process.kill(auditdPid, 'SIGTERM');
      for (let i = 0; i < 100 && addon.auditStatus().pid; i++) await sleep(50);
      if (addon.auditStatus().enabled !== before.enabled) {
        execFileSync('auditctl', ['-e', String(before.enabled)]);
      }
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
      expect(addon.auditStatus().pid).toBe(0); // the test owns auditd's lifecycle
      execFileSync('auditd');
      for (let i = 0; i < 100 && !addon.auditStatus().pid; i++) await sleep(50);
      auditdPid = addon.auditStatus().pid;
      expect(auditdPid).toBeGreaterThan(0);
    });
    afterAll(async () => {
      if (auditdPid) process.kill(auditdPid, 'SIGTERM');
      for (let i = 0; i < 100 && addon.auditStatus().pid; i++) await sleep(50);
      // auditd enabled audit when it started: put the flag back as the suite found it.
      if (addon.auditStatus().enabled !== before.enabled) {
        execFileSync('auditctl', ['-e', String(before.enabled)]);
      }
      expect(auditSnapshot()).toEqual(before);
    });

    it('both auditd and our capture receive the event; auditd is untouched', async () => {
      const statusBefore = addon.auditStatus();
      const rulesBefore = execFileSync('auditctl', ['-l']).toString();
      const cap = new addon.AuditTestCapture();
      cap.start();
      try {
        expect(cap.stats().mode).toBe(2); // read-log group, not the daemon role
        expect(addon.auditStatus().pid).toBe(auditdPid);
        const dd = spawnSync('dd', [`if=/proc/${sleeper.pid}/mem`, 'of=/dev/null', 'count=0']);
        expect((await recordOf(cap, dd.pid))?.targetPid).toBe(sleeper.pid);
        let logged = false;
        for (let i = 0; i < 200 && !logged; i++) {
          // auditd writes asynchronously and logs every procfs open of the host: allow 10 s
          logged = readFileSync(log, 'utf8')
            .split('\n')
            .some((l) => l.includes(`pid=${dd.pid} `) && l.includes(`key="${KEY}"`));
          if (!logged) await sleep(50);
        }
        expect(logged).toBe(true);
      } finally {
        cap.stop();
      }
      const statusAfter = addon.auditStatus();
      expect(statusAfter.pid).toBe(auditdPid);
      expect(statusAfter.enabled).toBe(statusBefore.enabled);
      expect(statusAfter.backlogLimit).toBe(statusBefore.backlogLimit);
      expect(execFileSync('auditctl', ['-l']).toString()).toBe(rulesBefore);
      expect(readFileSync(conf, 'utf8')).toBe(confBefore);
    });
  });
});
