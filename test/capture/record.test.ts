import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  FlagsSource,
  RECORD_LAYOUT,
  RECORD_SIZE,
  RECORD_VERSION,
  RecordFlag,
  TargetField,
  TargetRelationCode,
} from '../../src/capture/record.js';
import { encodeRecord } from './synthetic-ring.js';

describe('decodeRecord', () => {
  it('reads every field at its offset', () => {
    const buf = new ArrayBuffer(RECORD_SIZE * 2);
    const fields = {
      hostPid: 4242,
      hostTid: 4243,
      hostPpid: 4000,
      targetPid: 77,
      targetTid: 78,
      openFlags: 0o2,
      flagsSource: FlagsSource.fdinfo,
      recordFlags: RecordFlag.procfsMem | RecordFlag.threadMem,
      timestampNs: 1_700_000_000_123_456_789n,
      dev: 21n,
      inode: 0xffff_ffff_ffffn,
      comm: 'dd',
      pathname: '/proc/77/task/78/mem',
      exe: '/usr/bin/dd',
      containerId: 'abc',
      processorId: 3,
      targetUid: 4_000_000_000,
      targetStartNs: 0xffff_ffff_ffff_fff0n,
      targetRelation: TargetRelationCode.ancestor,
      targetKnown: TargetField.comm | TargetField.uid | TargetField.startTime,
      targetComm: 'sshd',
      targetContainerId: 'f'.repeat(64),
      targetExe: '/usr/sbin/sshd',
      parentExe: '/usr/bin/bash',
    };
    encodeRecord(buf, RECORD_SIZE, fields);
    const r = decodeRecord(new DataView(buf), RECORD_SIZE);
    expect(r).toMatchObject({
      ...fields,
      size: RECORD_SIZE,
      version: RECORD_VERSION,
      backend: 1,
      syscallPathname: fields.pathname,
    });
  });

  it('places the target fields after processorId, within the record', () => {
    expect(RECORD_SIZE).toBe(2048);
    expect(RECORD_LAYOUT.processorId.offset).toBe(984);
    expect(RECORD_LAYOUT.targetUid.offset).toBe(988);
    expect(RECORD_LAYOUT.targetStartNs.offset % 8).toBe(0);
    expect(RECORD_LAYOUT.targetComm.size).toBe(16);
    expect(RECORD_LAYOUT.targetContainerId.size).toBe(72);
    expect(RECORD_LAYOUT.targetExe.size).toBe(256);
    expect(RECORD_LAYOUT.parentExe.size).toBe(256);
  });

  it('cuts strings at the first NUL and handles a field with none', () => {
    const buf = new ArrayBuffer(RECORD_SIZE);
    encodeRecord(buf, 0, { comm: 'x' });
    new Uint8Array(buf, RECORD_LAYOUT.comm.offset, 16).fill(0x61); // 16 x 'a', no terminator
    new Uint8Array(buf, RECORD_LAYOUT.targetComm.offset, 16).fill(0x62);
    const r = decodeRecord(new DataView(buf), 0);
    expect(r.comm).toBe('a'.repeat(16));
    expect(r.targetComm).toBe('b'.repeat(16));
  });

  it('rejects a record of another layout version or size', () => {
    const buf = new ArrayBuffer(RECORD_SIZE);
    encodeRecord(buf, 0, {});
    new DataView(buf).setUint16(RECORD_LAYOUT.version.offset, 2, true);
    expect(() => decodeRecord(new DataView(buf), 0)).toThrow(
      new RegExp(`version 2, expected 2048 v${RECORD_VERSION}`),
    );
    encodeRecord(buf, 0, {});
    new DataView(buf).setUint32(RECORD_LAYOUT.size.offset, 1024, true);
    expect(() => decodeRecord(new DataView(buf), 0)).toThrow(/size 1024/);
  });
});
