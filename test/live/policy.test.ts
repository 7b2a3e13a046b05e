// watch --policy on the real kernel: the example policy suppresses gdb on its own inferior and
// not dd on a process it did not start; an invalid policy stops watch with exit 2; SIGHUP with
// a broken file keeps the running policy; 50 identical reads fold into one finding.
//
// Every "was not reported" is decided after a barrier: a marker program (its own executable,
// so no exception and no dedup key touches it) opens the target's mem file after the opens
// under test, and its finding is awaited. The eBPF backend delivers opens in the order they
// happened and watch writes findings in the order it made them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cHelper,
  commandPath,
  liveName,
  run,
  runsHere,
  spawnTarget,
  waitFor,
} from '../helpers/live.js';
import {
  freePort,
  readMem,
  started,
  startWatch,
  type WatchProcess,
} from '../helpers/watch-process.js';

const root = new URL('../..', import.meta.url).pathname;
const example = join(root, 'docs/policies/legitimate-openers.yaml');
const ddExe = commandPath('dd');

interface Line {
  sigMetadata?: { ID: string };
  processName: string;
  hostProcessId: number;
  event?: {
    processName: string;
    hostProcessId: number;
    args: { name: string; value: unknown }[];
    procmemGuard?: {
      target?: { pid: number; comm?: string; exe?: string; uid?: number; relation?: string };
      repeats?: number;
    };
  };
}

/** Finding lines (Finding JSON) on watch's standard output. */
function findings(w: WatchProcess): NonNullable<Line['event']>[] {
  return w
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{"sigMetadata"'))
    .map((l) => (JSON.parse(l) as Line).event as NonNullable<Line['event']>);
}

/** One value of a Prometheus metric, or undefined while it has none. */
async function metric(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function waitForMetric(port: number, name: string, value: number): Promise<void> {
  let last: number | undefined;
  await waitFor(
    `${name} to be ${value}`,
    async () => {
      last = await metric(port, name);
      return last === value;
    },
    10_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (last ${last})`);
  });
}

/** The barrier: a marker program reads `pid`'s memory; resolves once its finding is out. */
async function barrier(w: WatchProcess, pid: number): Promise<void> {
  const marker = cHelper('pmg-policy-marker', { source: 'open_mem' });
  const { pid: markerPid } = await run(marker, [`/proc/${pid}/mem`, 'r']);
  await waitFor('the marker finding', () => findings(w).some((f) => f.hostProcessId === markerPid));
}

function scratchFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'pmg-live-policy-')), name);
  writeFileSync(path, text);
  return path;
}

describe.skipIf(!runsHere())(liveName('watch --policy (live, eBPF)'), () => {
  it('the example policy suppresses gdb on the program it runs; dd on a process it did not start is reported with the target', async () => {
    const port = await freePort();
    const w = startWatch([
      '--backend',
      'ebpf',
      '--policy',
      example,
      '--metrics',
      `127.0.0.1:${port}`,
    ]);
    const target = spawnTarget();
    try {
      await started(w);
      // gdb starts the helper, which stops itself with SIGTRAP; gdb then reads 4 bytes at its
      // pc (through /proc/<pid>/task/<tid>/mem, O_RDWR) and kills it at the end of the batch.
      const gdb = await run('gdb', [
        '-nx',
        '-batch',
        '-ex',
        'set startup-with-shell off',
        '-ex',
        'run',
        '-ex',
        'x/4xb $pc',
        '--args',
        cHelper('trap_self'),
      ]);
      expect(gdb.stdout).toMatch(/Program received signal SIGTRAP/);
      expect(gdb.stdout).toMatch(/^0x[0-9a-f]+.*:\s+0x[0-9a-f]{2}\s+0x[0-9a-f]{2}/m);
      const dd = await readMem(target.pid);
      const ddFinding = await waitFor('the dd finding', () =>
        findings(w).find((f) => f.hostProcessId === dd),
      );
      expect(ddFinding.procmemGuard?.target).toMatchObject({
        pid: target.pid,
        comm: 'sleep',
        exe: commandPath('sleep'),
        uid: 0,
        relation: 'unrelated',
      });
      // gdb opened its inferior's memory (counted as suppressed) and nothing of it came out.
      const suppressed = await metric(
        port,
        'procmem_guard_suppressed_total{exception="gdb-on-its-own-inferiors"}',
      );
      expect(suppressed).toBeGreaterThanOrEqual(1);
      expect(findings(w).filter((f) => f.processName === 'gdb')).toEqual([]);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      expect(w.err()).toMatch(/suppressed [1-9]\d* \(.*gdb-on-its-own-inferiors [1-9]/);
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
    }
  });

  it('an invalid policy: exit 2 naming file, line and column, before capture starts', async () => {
    const bad = scratchFile(
      'bad.yaml',
      'version: 1\nexceptions:\n  - name: a\n    opener: { exe: [/usr/bin/gdb], uid: [root] }\n    action: suppress\n',
    );
    const w = startWatch(['--backend', 'ebpf', '--policy', bad]);
    expect((await w.exited).code).toBe(2);
    expect(w.err()).toContain(
      `procmem-guard watch: ${bad}:4:42: exceptions[0].opener.uid[0]: expected a numeric uid`,
    );
    expect(w.err()).not.toContain('watching with');
  });

  it('SIGHUP with a broken policy keeps the running one: a read it suppresses stays suppressed', async () => {
    const allowDd = `version: 1\nexceptions:\n  - name: allow-dd\n    opener: { exe: [${ddExe}] }\n    access: [read]\n    action: suppress\n`;
    const file = scratchFile('policy.yaml', allowDd);
    const port = await freePort();
    const w = startWatch(['--backend', 'ebpf', '--policy', file, '--metrics', `127.0.0.1:${port}`]);
    const target = spawnTarget();
    const suppressedDd = 'procmem_guard_suppressed_total{exception="allow-dd"}';
    try {
      await started(w);
      const first = await readMem(target.pid);
      await waitForMetric(port, suppressedDd, 1);
      await barrier(w, target.pid);
      expect(findings(w).filter((f) => f.hostProcessId === first)).toEqual([]);

      writeFileSync(file, allowDd.replace('action: suppress', 'action: forget'));
      w.child.kill('SIGHUP');
      await waitFor('the refused reload', () =>
        w.err().includes('SIGHUP: keeping the running policy'),
      );
      expect(w.err()).toContain(
        `SIGHUP: keeping the running policy: ${file}:6:13: exceptions[0].action: expected suppress or annotate, got "forget"`,
      );
      const second = await readMem(target.pid);
      await waitForMetric(port, suppressedDd, 2);
      await barrier(w, target.pid);
      expect(findings(w).filter((f) => f.hostProcessId === second)).toEqual([]);

      // A valid file is taken at the next SIGHUP: without the exception, dd is reported.
      writeFileSync(file, 'version: 1\n');
      w.child.kill('SIGHUP');
      await waitFor('the reload', () => w.err().includes('SIGHUP: policy reloaded'));
      const third = await readMem(target.pid);
      await waitFor('the third read reported', () =>
        findings(w).some((f) => f.hostProcessId === third),
      );
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      expect(w.err()).toMatch(/suppressed 2 \(allow-dd 2\), annotated 0/);
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
    }
  });

  it('50 identical reads inside the window: one finding and a fold count of 49, reported at stop', async () => {
    const file = scratchFile('dedup.yaml', 'version: 1\ndedup: { window: 10m }\n');
    const w = startWatch(['--backend', 'ebpf', '--policy', file]);
    const target = spawnTarget();
    try {
      await started(w);
      // 50 reads by one uid stay inside its flood budget (256 at once), so none is folded
      // natively as a loss: every one reaches the policy.
      for (let i = 0; i < 50; i++) await readMem(target.pid);
      await barrier(w, target.pid);
      const path = `/proc/${target.pid}/mem`;
      const ddFindings = findings(w).filter(
        (f) =>
          f.processName === 'dd' && f.args.some((a) => a.name === 'pathname' && a.value === path),
      );
      expect(ddFindings).toHaveLength(1);
      expect(ddFindings[0]?.procmemGuard?.repeats).toBeUndefined();
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(0);
      expect(w.err()).toMatch(/ lost 0[;,]/);
      expect(w.err()).toMatch(/dedup folded 49 \(carried 0, pending 49, evicted 0\)/);
      expect(w.err()).toContain(
        `not carried by a later finding: 49 folded TRC-1023 read by ${ddExe} of `,
      );
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
    }
  });
});
