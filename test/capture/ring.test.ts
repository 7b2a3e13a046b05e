import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../../src/capture/record.js';
import { RingReader } from '../../src/capture/ring.js';
import { HEADER_U32, HEADER_U64, makeRing, push } from './synthetic-ring.js';

const header = (buf: ArrayBuffer) => new BigUint64Array(buf, 0, 32);

describe('RingReader', () => {
  it('rejects a buffer that is not a ring', () => {
    expect(() => new RingReader(new ArrayBuffer(4096))).toThrow(/not a procmem-guard ring/);
  });

  it('drains all available records in one batch and publishes read_seq', () => {
    const buf = makeRing(16);
    for (let i = 1; i <= 5; i++) push(buf, { hostPid: i, pathname: `/proc/${i}/mem` });
    const reader = new RingReader(buf);
    expect(reader.available()).toBe(5);
    const seen: number[] = [];
    expect(reader.drain((r) => seen.push(r.hostPid))).toBe(5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(header(buf)[HEADER_U64.readSeq]).toBe(5n);
    expect(reader.drain(() => {})).toBe(0);
  });

  it('clears wake_pending before draining', () => {
    const buf = makeRing(16);
    new Uint32Array(buf)[HEADER_U32.wakePending] = 1;
    new RingReader(buf).drain(() => {});
    expect(new Uint32Array(buf)[HEADER_U32.wakePending]).toBe(0);
  });

  it('wraps around the capacity with 64-bit sequences', () => {
    const buf = makeRing(16);
    header(buf)[HEADER_U64.writeSeq] = 2n ** 40n - 3n;
    header(buf)[HEADER_U64.readSeq] = 2n ** 40n - 3n;
    const reader = new RingReader(buf);
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) expect(push(buf, { hostPid: round * 10 + i })).toBe(true);
      reader.drain((r: CaptureRecord) => seen.push(r.hostPid));
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('reports a full ring as ringFull losses', () => {
    const buf = makeRing(16);
    let accepted = 0;
    for (let i = 0; i < 20; i++) if (push(buf, { hostPid: i })) accepted++;
    const reader = new RingReader(buf);
    expect(accepted).toBe(16);
    expect(reader.losses()).toMatchObject({ ringFull: 4, kernelOverflow: 0 });
    header(buf)[HEADER_U64.lost + 1] = 3n; // kernelOverflow
    expect(reader.losses().kernelOverflow).toBe(3);
    expect(reader.drain(() => {})).toBe(16);
  });

  it('keeps the records before a throwing callback consumed', () => {
    const buf = makeRing(16);
    for (let i = 0; i < 3; i++) push(buf, { hostPid: i });
    const reader = new RingReader(buf);
    expect(() =>
      reader.drain((r) => {
        if (r.hostPid === 1) throw new Error('boom');
      }),
    ).toThrow('boom');
    const rest: number[] = [];
    reader.drain((r) => rest.push(r.hostPid));
    expect(rest).toEqual([2]);
  });
});
