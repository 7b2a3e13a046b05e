// The TypeScript decoder's view of the record and ring layouts against the addon's (offsetof
// and sizeof, native/record_layout.cc): drift between native/record.h or native/ring/ring.h
// and src/capture fails here, without root or a kernel.
import { describe, expect, it } from 'vitest';
import { RECORD_LAYOUT, RECORD_SIZE, RECORD_VERSION } from '../../src/capture/record.js';
import {
  LOSS_CAUSES,
  RING_HEADER,
  RING_HEADER_SIZE,
  RING_HEADER_VERSION,
  RING_MAGIC,
} from '../../src/capture/ring.js';
import { loadNative } from '../../src/native.js';

const native = loadNative().recordLayout();
const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

describe('record and ring layout (TypeScript vs the addon)', () => {
  it('has the same record size and version', () => {
    expect(RECORD_SIZE).toBe(native.recordSize);
    expect(RECORD_VERSION).toBe(native.recordVersion);
  });

  it('has every CaptureRecord member, in order, at the same offset with the same size', () => {
    const cxx = Object.entries(native.fields).map(([name, f]) => [camel(name), f]);
    const ts = Object.entries(RECORD_LAYOUT).map(([name, f]) => [
      name,
      { offset: f.offset, size: f.size },
    ]);
    expect(ts).toEqual(cxx);
  });

  it('reads the ring header where the producer writes it', () => {
    const { ring } = native;
    expect(RING_HEADER_SIZE).toBe(ring.headerSize);
    expect(RING_HEADER_VERSION).toBe(ring.headerVersion);
    expect(RING_MAGIC).toBe(ring.magic);
    expect(RING_HEADER).toEqual({
      magicOffset: ring.magicOffset,
      versionOffset: ring.versionOffset,
      capacityOffset: ring.capacityOffset,
      recordSizeOffset: ring.recordSizeOffset,
      writeSeqOffset: ring.writeSeqOffset,
      readSeqOffset: ring.readSeqOffset,
      wakePendingOffset: ring.wakePendingOffset,
      lostOffset: ring.lostOffset,
    });
    expect(LOSS_CAUSES.length).toBeLessThanOrEqual(ring.lostSlots);
  });

  it('keeps the largest ring at 64 MiB', () => {
    expect(native.ring.maxCapacity * RECORD_SIZE).toBe(64 * 2 ** 20);
    expect(native.ring.defaultCapacity * RECORD_SIZE).toBe(8 * 2 ** 20);
  });
});
