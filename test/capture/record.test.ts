import { describe, expect, it } from 'vitest';
import { decodeRecord, FlagsSource, RECORD_SIZE, RecordFlag } from '../../src/capture/record.js';
import { encodeRecord } from './synthetic-ring.js';

describe('decodeRecord', () => {
  it('reads every mirrored field at its native offset', () => {
    const buf = new ArrayBuffer(RECORD_SIZE * 2);
    const fields = {
      hostPid: 4242,
      hostTid: 4243,
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
    };
    encodeRecord(buf, RECORD_SIZE, fields);
    const r = decodeRecord(new DataView(buf), RECORD_SIZE);
    expect(r).toMatchObject({
      ...fields,
      size: RECORD_SIZE,
      version: 2,
      backend: 1,
      syscallPathname: fields.pathname,
    });
  });

  it('cuts strings at the first NUL and handles a field with none', () => {
    const buf = new ArrayBuffer(RECORD_SIZE);
    encodeRecord(buf, 0, { comm: 'x' });
    new Uint8Array(buf, 128, 16).fill(0x61); // 16 x 'a', no terminator
    expect(decodeRecord(new DataView(buf), 0).comm).toBe('a'.repeat(16));
  });

  it('rejects a record of another layout version', () => {
    const buf = new ArrayBuffer(RECORD_SIZE);
    encodeRecord(buf, 0, {});
    new DataView(buf).setUint16(4, 1, true);
    expect(() => decodeRecord(new DataView(buf), 0)).toThrow(/v2/);
  });
});
