import { describe, expect, it } from 'vitest';
import { createSecurityFileOpenEvent } from '../src/events/build.js';
import {
  detectionEventId,
  formatFindingJson,
  formatFindingPretty,
  formatFindingTracee,
  formatTimestamp,
  toDetectionEvent,
} from '../src/output/index.js';
import { PROC_MEM_CODE_INJECTION_METADATA } from '../src/signatures/proc_mem_code_injection.js';
import type { Finding } from '../src/signatures/signature.js';

const event = createSecurityFileOpenEvent({
  timestamp: 1732675205771904533n,
  processId: 48307,
  processName: 'python3',
  pathname: '/proc/4321/mem',
  flags: 0o1 | 0o2000000,
  procmemGuard: { procfsMem: true, targetPid: 4321, flagsSource: 'fdinfo', backend: 'fanotify' },
});
const finding: Finding = { sigMetadata: PROC_MEM_CODE_INJECTION_METADATA, event, data: null };

describe('finding formats', () => {
  it('pretty: one aligned line with time, severity, signature, opener and target', () => {
    expect(formatFindingPretty(finding)).toBe(
      '2024-11-27T02:40:05.771904533Z  sev 3  TRC-1024 proc_mem_code_injection   pid 48307    python3           /proc/4321/mem  target 4321  O_WRONLY|O_CLOEXEC',
    );
  });

  it('pretty: a live event names the target read at capture time, and the relation', () => {
    const live = {
      ...event,
      userId: 1000,
      procmemGuard: {
        procfsMem: true,
        targetPid: 812,
        targetTid: 812,
        flagsSource: 'kernel' as const,
        target: { pid: 812, tid: 812, comm: 'sshd', uid: 0, relation: 'unrelated' as const },
      },
    };
    expect(formatFindingPretty({ ...finding, event: live })).toBe(
      '2024-11-27T02:40:05.771904533Z  sev 3  TRC-1024 proc_mem_code_injection   pid 48307    python3 (uid 1000) → sshd (pid 812, uid 0, unrelated)  /proc/4321/mem  O_WRONLY|O_CLOEXEC',
    );
    // What could not be read is left out; a thread is named; hostile names are escaped.
    const partial = {
      ...live,
      processName: 'evil\u001b[2J name',
      procmemGuard: {
        ...live.procmemGuard,
        target: { pid: 812, tid: 813, comm: 'x\u202ey z' },
      },
    };
    expect(formatFindingPretty({ ...finding, event: partial })).toContain(
      'evil\\x1b[2J\\x20name (uid 1000) → x\\u202ey\\x20z (pid 812, tid 813)  /proc/4321/mem',
    );
    const unnamed = { ...live, procmemGuard: { ...live.procmemGuard, target: { pid: 9, tid: 9 } } };
    expect(formatFindingPretty({ ...finding, event: unnamed })).toContain('→ ? (pid 9)  ');
  });

  it('json and tracee: the target and parent executable ride in procmemGuard', () => {
    const live = {
      ...event,
      procmemGuard: {
        ...event.procmemGuard,
        procfsMem: true,
        flagsSource: 'fdinfo' as const,
        target: { pid: 4321, tid: 4321, exe: '/usr/bin/sleep', startTime: 2n ** 63n },
        parentExe: '/usr/bin/bash',
      },
    };
    const mark =
      '"procmemGuard":{"procfsMem":true,"targetPid":4321,"flagsSource":"fdinfo","backend":"fanotify",' +
      '"target":{"pid":4321,"tid":4321,"exe":"/usr/bin/sleep","startTime":9223372036854775808},' +
      '"parentExe":"/usr/bin/bash"}';
    expect(formatFindingJson({ ...finding, event: live })).toContain(mark);
    // Tracee's detection event keeps its shape: the extras only in procmemGuard.
    const tracee = formatFindingTracee({ ...finding, event: live });
    expect(tracee).toContain(`${mark},"args":[`);
    const plain = formatFindingTracee(finding);
    expect(tracee.replace(mark, '')).toBe(plain.replace(/"procmemGuard":\{[^}]*\}/, ''));
  });

  it('timestamps: epoch nanoseconds to ISO with nine digits, boot-relative as +seconds', () => {
    expect(formatTimestamp(1732675205000000007n)).toBe('2024-11-27T02:40:05.000000007Z');
    expect(formatTimestamp(617395606682013n)).toBe('+617395.606682013s');
  });

  it('json: metadata, the whole event with its capture mark, data', () => {
    const line = formatFindingJson(finding);
    expect(line).toMatch(/^\{"sigMetadata":\{"ID":"TRC-1024","Version":"1",/);
    expect(line).toContain('"Tags":[]');
    expect(line).toContain('"event":{"timestamp":1732675205771904533,');
    expect(line).toContain(
      '"procmemGuard":{"procfsMem":true,"targetPid":4321,"flagsSource":"fdinfo","backend":"fanotify"}',
    );
    expect(line).toMatch(/,"data":null\}$/);
  });

  it('tracee: detection event ids are stable per signature', () => {
    expect(detectionEventId('TRC-1023')).toBe(6023);
    expect(detectionEventId('TRC-1024')).toBe(6024);
    expect(detectionEventId('USR-shadow')).toBe(6999);
    const detection = toDetectionEvent({ ...finding, data: { target: 4321, note: 'x' } });
    expect(detection.args.map((arg) => [arg.name, arg.type])).toEqual([
      ['target', 'int'],
      ['note', 'const char *'],
      ['triggeredBy', 'unknown'],
    ]);
    expect(detection.argsNum).toBe(3);
    expect(detection.eventName).toBe('proc_mem_code_injection');
  });
});
