// Guard mode without a kernel: the compact exception table built from a policy
// (src/guard/table.ts), the refusal of conditions the kernel cannot decide (with file, line,
// column and field), the enforce option and config key, and the action in events.
import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stDevToKernelDev } from '../src/capture/to-event.js';
import { parseEventLine, serializeEvent, type TraceeEvent } from '../src/events/index.js';
import { GUARD_LIMITS, guardTable } from '../src/guard/table.js';
import { parsePolicy, policyFromObject } from '../src/policy/load.js';
import { PolicyError } from '../src/policy/types.js';
import { parseConfig } from '../src/service/config.js';
import { ProcMemWatcher } from '../src/watcher/watcher.js';

const dir = mkdtempSync(join(tmpdir(), 'pmg-guard-table-'));
const tool = join(dir, 'tool');
writeFileSync(tool, '#!/bin/sh\n');
const link = join(dir, 'tool-link');
symlinkSync(tool, link);
const toolStat = statSync(tool, { bigint: true });

const policy = (exceptions: string, extra = '') =>
  parsePolicy(`version: 1\n${extra}exceptions:\n${exceptions}`, 'g.yaml');

function refusal(text: string): PolicyError {
  try {
    guardTable(policy(text));
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

describe('guardTable', () => {
  it('pins literal executables by kernel dev_t and inode, with the other conditions as bits', () => {
    const t = guardTable(
      policy(`  - name: dbg
    signatures: [TRC-1023]
    access: [read]
    opener: { exe: [${tool}], uid: [0, 1000], container: host }
    relation: [ancestor, self]
    action: suppress
`),
    );
    expect(t.entries).toEqual([
      {
        exe: { dev: Number(stDevToKernelDev(toolStat.dev)), ino: toolStat.ino },
        uids: [0, 1000],
        relations: 2 | 1,
        signatures: 1,
        access: 1,
      },
    ]);
    expect(t.killSelf).toBe(false);
    expect(t.unpinned).toEqual([]);
  });

  it('pins nothing for an absent path or one reached through a symlink, and says so', () => {
    const t = guardTable(
      policy(`  - name: dbg
    opener: { exe: [${join(dir, 'absent')}, ${link}] }
    action: suppress
`),
    );
    // An exception whose executables all failed to pin matches no opener: no entry, not "any".
    expect(t.entries).toEqual([]);
    expect(t.unpinned).toEqual([join(dir, 'absent'), link]);
  });

  it('an exception without opener.exe allows any executable; null conditions stay null', () => {
    const t = guardTable(
      policy(
        `  - name: root-any
    opener: { uid: [0] }
    action: annotate
`,
        'guard: { killSelf: true }\n',
      ),
    );
    expect(t.entries).toEqual([
      { exe: null, uids: [0], relations: null, signatures: 3, access: 3 },
    ]);
    expect(t.killSelf).toBe(true);
  });

  it('splits uids into entries of at most 8 and refuses more than 64 entries', () => {
    const uids = Array.from({ length: 20 }, (_, i) => i + 100);
    const t = guardTable(
      policy(`  - name: many
    opener: { uid: [${uids.join(', ')}] }
    action: suppress
`),
    );
    expect(t.entries.map((e) => e.uids)).toEqual([
      uids.slice(0, 8),
      uids.slice(8, 16),
      uids.slice(16),
    ]);
    // 256 uids (the list limit) are 32 entries: two such exceptions fill the table.
    const full = Array.from({ length: 256 }, (_, i) => i);
    const exception = (name: string) =>
      `  - name: ${name}\n    opener: { uid: [${full.join(', ')}] }\n    action: suppress\n`;
    expect(guardTable(policy(exception('a') + exception('b'))).entries).toHaveLength(
      GUARD_LIMITS.entries,
    );
    const err = refusal(exception('a') + exception('b') + exception('c'));
    expect(err.message).toMatch(
      /^g\.yaml:9:5: exceptions\[2\]: guard mode: the policy needs more than 64 kernel entries by exception "c"/,
    );
  });

  it('refuses each condition the kernel cannot decide, at the condition, naming the exception', () => {
    const cases: [string, number, number, string][] = [
      [`    opener: { exe: [/usr/bin/gd*] }\n`, 4, 15, 'opener.exe'],
      [`    opener: { comm: [gdb] }\n`, 4, 15, 'opener.comm'],
      [`    opener: { parentExe: [${tool}] }\n`, 4, 15, 'opener.parentExe'],
      [`    opener: { container: host }\n`, 4, 15, 'opener.container'],
      [`    target: { exe: [${tool}] }\n`, 4, 15, 'target.exe'],
      [`    target: { uid: [0] }\n`, 4, 15, 'target.uid'],
      [`    target: { comm: [sshd] }\n`, 4, 15, 'target.comm'],
      [`    signatures: [MY-1]\n    relation: [self]\n`, 4, 5, 'signatures'],
    ];
    for (const [condition, line, column, field] of cases) {
      const err = refusal(`  - name: x\n${condition}    action: annotate\n`);
      expect(err.message).toBe(`g.yaml:${line}:${column}: exceptions[0].${field}: ${err.reason}`);
      expect(err.reason).toMatch(
        new RegExp(
          `^guard mode cannot enforce exception "x": ${field} is not decidable in the kernel`,
        ),
      );
    }
  });

  it('names the field without a position for a policy given as an object', () => {
    expect(() =>
      guardTable(
        policyFromObject({
          version: 1,
          exceptions: [{ name: 'c', opener: { comm: ['gdb'] }, action: 'annotate' }],
        }),
      ),
    ).toThrow(/^options\.policy: exceptions\[0\]\.opener\.comm: guard mode cannot enforce/);
  });

  it('checks guard.killSelf like every other key', () => {
    expect(() => parsePolicy('version: 1\nguard: { killSelf: yes please }\n', 'g.yaml')).toThrow(
      /^g\.yaml:2:20: guard\.killSelf: expected true or false/,
    );
    expect(() => parsePolicy('version: 1\nguard: { kilSelf: true }\n', 'g.yaml')).toThrow(
      /did you mean killSelf\?/,
    );
    expect(parsePolicy('version: 1\n', 'g.yaml').guard).toEqual({ killSelf: false });
  });
});

describe('the enforce option', () => {
  it('is true, false or "dry-run" (TypeError otherwise), and needs the built-in signatures', () => {
    expect(() => new ProcMemWatcher({ enforce: 'yes' as never })).toThrow(
      /options\.enforce must be true, false or "dry-run", got "yes"/,
    );
    expect(() => new ProcMemWatcher({ enforce: 1 as never })).toThrow(TypeError);
    expect(() => new ProcMemWatcher({ enforce: true, builtinSignatures: false })).toThrow(
      /needs the built-in signatures/,
    );
    expect(new ProcMemWatcher({ enforce: 'dry-run' }).stats().enforcement).toEqual({
      mode: 'dry-run',
      killed: 0,
      wouldKill: 0,
      killFailures: 0,
      exceptionsInKernel: 0,
      unpinned: [],
    });
    expect(new ProcMemWatcher().stats().enforcement.mode).toBe('off');
  });

  it('refuses, from the constructor, a policy the kernel cannot decide; not without enforce', () => {
    const spec = {
      version: 1 as const,
      exceptions: [{ name: 'c', opener: { comm: ['gdb'] }, action: 'annotate' as const }],
    };
    expect(() => new ProcMemWatcher({ enforce: true, policy: spec })).toThrow(PolicyError);
    expect(() => new ProcMemWatcher({ enforce: false, policy: spec })).not.toThrow();
  });

  it('is a config file key: true, false or dry-run', () => {
    expect(parseConfig('enforce: dry-run\n', 'c.yaml').enforce).toBe('dry-run');
    expect(parseConfig('enforce: true\n', 'c.yaml').enforce).toBe(true);
    expect(() => parseConfig('enforce: kill\n', 'c.yaml')).toThrow(
      /^c\.yaml:1:10: enforce must be true, false or dry-run/,
    );
  });
});

describe('procmemGuard.action in events', () => {
  it('is written, read back, and refused when unknown', () => {
    const line =
      '{"timestamp":1,"threadStartTime":0,"processorId":0,"processId":5,"cgroupId":0,"threadId":5,"parentProcessId":1,"hostProcessId":5,"hostThreadId":5,"hostParentProcessId":1,"userId":0,"mountNamespace":0,"pidNamespace":0,"processName":"x","executable":{"path":"/x"},"hostName":"h","containerId":"","container":{},"eventId":732,"eventName":"security_file_open","argsNum":6,"returnValue":3,"syscall":"openat","args":[{"name":"pathname","type":"const char*","value":"/proc/6/mem"},{"name":"flags","type":"int","value":0},{"name":"dev","type":"dev_t","value":4},{"name":"inode","type":"unsigned long","value":5},{"name":"ctime","type":"unsigned long","value":6},{"name":"syscall_pathname","type":"const char*","value":"/proc/6/mem"}],"procmemGuard":{"procfsMem":true,"flagsSource":"kernel","action":"killed"}}';
    const read = parseEventLine(line, 1);
    expect(read.ok).toBe(true);
    const event = (read as { event: TraceeEvent }).event;
    expect(event.procmemGuard?.action).toBe('killed');
    expect(serializeEvent(event)).toContain('"action":"killed"');
    const bad = parseEventLine(line.replace('"killed"', '"maimed"'), 2);
    expect(bad.ok).toBe(false);
    expect(String((bad as { error: Error }).error.message)).toMatch(
      /procmemGuard\.action: expected one of killed, would-kill/,
    );
  });
});
