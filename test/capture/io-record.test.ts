// Io summary records (native RecordKind::kIoSummary) decoded and turned into proc_mem_io
// events, written as Tracee JSON and as a pretty line: no kernel needed.
import { describe, expect, it } from 'vitest';
import {
  BackendId,
  decodeRecord,
  IoEndCode,
  RECORD_SIZE,
  RecordFlag,
  RecordKind,
  TargetField,
  TargetRelationCode,
} from '../../src/capture/record.js';
import { recordToEvent, recordToIoEvent } from '../../src/capture/to-event.js';
import { parseJsonExact } from '../../src/events/exact-json.js';
import { ioArg, PROC_MEM_IO, PROC_MEM_IO_EVENT_ID } from '../../src/events/proc-mem-io.js';
import { serializeEvent } from '../../src/events/writer.js';
import { formatIoPretty, formatNs, ioFormatter } from '../../src/output/index.js';
import { encodeRecord, type SyntheticRecord } from './synthetic-ring.js';

const boot = 1_700_000_000_000_000_000n;
const open = {
  backend: BackendId.ebpf,
  hostPid: 4242,
  hostTid: 4243,
  uid: 0,
  comm: 'dd',
  targetPid: 812,
  targetTid: 812,
  recordFlags: RecordFlag.procfsMem,
  pathname: '/proc/812/mem',
  returnValue: 5,
  targetKnown: TargetField.comm | TargetField.uid,
  targetComm: 'sshd',
  targetUid: 0,
  targetRelation: TargetRelationCode.unrelated,
} satisfies SyntheticRecord;

function decode(r: SyntheticRecord) {
  const buf = new ArrayBuffer(RECORD_SIZE);
  encodeRecord(buf, 0, r);
  return decodeRecord(new DataView(buf), 0);
}

const summary = (extra: SyntheticRecord = {}) =>
  decode({
    ...open,
    recordKind: RecordKind.ioSummary,
    ioEnd: IoEndCode.closed,
    ioFd: 5,
    ioReads: 16n,
    ioWrites: 0n,
    ioBytesRead: 1_048_576n,
    ioBytesWritten: 0n,
    ioOpenMonotonicNs: 5_000_000_000n,
    monotonicNs: 5_002_100_000n,
    timestampNs: boot + 5_002_100_000n,
    ...extra,
  });

describe('io summary records', () => {
  it('decode the io fields and the kind', () => {
    const r = summary();
    expect(r).toMatchObject({
      recordKind: RecordKind.ioSummary,
      ioEnd: IoEndCode.closed,
      ioFd: 5,
      ioReads: 16n,
      ioBytesRead: 1_048_576n,
      ioOpenMonotonicNs: 5_000_000_000n,
    });
    expect(decode(open).recordKind).toBe(RecordKind.open);
  });

  it('become proc_mem_io events with the open opener, target, path and timing', () => {
    const e = recordToIoEvent(summary(), 'host');
    expect(e.eventName).toBe(PROC_MEM_IO);
    expect(e.eventId).toBe(PROC_MEM_IO_EVENT_ID);
    expect(e.args.map((a) => a.name)).toEqual([
      'fd',
      'pathname',
      'reads',
      'writes',
      'bytesRead',
      'bytesWritten',
      'durationNs',
    ]);
    expect(e.argsNum).toBe(7);
    expect(ioArg(e, 'fd')).toBe(5);
    expect(ioArg(e, 'pathname')).toBe('/proc/812/mem');
    expect(ioArg(e, 'bytesRead')).toBe(1_048_576n);
    expect(ioArg(e, 'durationNs')).toBe(2_100_000n);
    expect(e.hostProcessId).toBe(4242);
    expect(e.procmemGuard.target).toMatchObject({ pid: 812, comm: 'sshd', relation: 'unrelated' });
    expect(e.procmemGuard.io).toEqual({ openTimestamp: boot + 5_000_000_000n, end: 'closed' });
    // The open's event from the same record has the summary's openTimestamp as its timestamp.
    const opened = recordToEvent(
      decode({ ...open, monotonicNs: 5_000_000_000n, timestampNs: boot + 5_000_000_000n }),
      'host',
    );
    expect(opened.timestamp).toBe(e.procmemGuard.io.openTimestamp);
  });

  it('say when bytes are not known (-1 and a note) and never give a negative duration', () => {
    const e = recordToIoEvent(
      summary({
        recordFlags: RecordFlag.procfsMem | RecordFlag.ioBytesUnknown,
        monotonicNs: 1n,
        ioEnd: 99,
      }),
      'host',
    );
    expect(ioArg(e, 'bytesRead')).toBe(-1n);
    expect(ioArg(e, 'bytesWritten')).toBe(-1n);
    expect(e.procmemGuard.notes).toContain('bytes-unknown');
    expect(ioArg(e, 'durationNs')).toBe(0n);
    expect(e.procmemGuard.io.end).toBe('unknown');
    // Bytes unknown (fanotify): the counts are events, each one call or more.
    expect(formatIoPretty(e)).toContain(
      'read an unknown number of bytes in at least 16 reads from',
    );
    const unseen = formatIoPretty(
      recordToIoEvent(
        summary({ recordFlags: RecordFlag.procfsMem | RecordFlag.ioBytesUnknown, ioReads: 0n }),
        'host',
      ),
    );
    expect(unseen).toContain('dd (uid 0) was not seen reading or writing of sshd');
  });

  it('are written as Tracee event JSON with procmemGuard.io', () => {
    const line = serializeEvent(recordToIoEvent(summary(), 'host'));
    expect(ioFormatter('json')(recordToIoEvent(summary(), 'host'))).toBe(line);
    expect(ioFormatter('tracee')(recordToIoEvent(summary(), 'host'))).toBe(line);
    const parsed = parseJsonExact(line) as Record<string, unknown>;
    expect(parsed.eventName).toBe('proc_mem_io');
    expect(parsed.eventId).toBe('9000');
    expect(parsed.procmemGuard).toMatchObject({
      io: { openTimestamp: boot + 5_000_000_000n, end: 'closed' },
    });
    expect(line).toContain('{"name":"bytesRead","type":"long","value":1048576}');
    expect(line.endsWith(']}')).toBe(true);
  });

  it('make one pretty line: who read how much of whom, over how long', () => {
    const line = formatIoPretty(recordToIoEvent(summary(), 'host'));
    expect(line).toMatch(
      /io proc_mem_io +pid 4242 +dd \(uid 0\) read 1048576 bytes in 16 reads from sshd \(pid 812, uid 0, unrelated\) over 2\.1 ms {2}\/proc\/812\/mem {2}closed$/,
    );
    const wrote = formatIoPretty(
      recordToIoEvent(summary({ ioReads: 0n, ioWrites: 1n, ioBytesWritten: 8n }), 'host'),
    );
    expect(wrote).toContain('dd (uid 0) wrote 8 bytes in 1 write to sshd');
    const both = formatIoPretty(
      recordToIoEvent(summary({ ioWrites: 2n, ioBytesWritten: 16n }), 'host'),
    );
    expect(both).toContain('read 1048576 bytes in 16 reads and wrote 16 bytes in 2 writes of sshd');
    const none = formatIoPretty(recordToIoEvent(summary({ ioReads: 0n, ioBytesRead: 0n }), 'host'));
    expect(none).toContain('read 0 bytes in 0 reads from sshd');
  });

  it('formats durations for people', () => {
    expect(formatNs(850n)).toBe('850 ns');
    expect(formatNs(12_300n)).toBe('12.3 µs');
    expect(formatNs(2_100_000n)).toBe('2.1 ms');
    expect(formatNs(4_500_000_000n)).toBe('4.5 s');
    expect(formatNs(192_000_000_000n)).toBe('3.2 min');
  });
});
