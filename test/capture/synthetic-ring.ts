// Builds ring buffers the way native/ring/ring.cc does, so the JS reader can be tested
// without the addon. The offsets come from src/capture (RECORD_LAYOUT, RING_HEADER), which
// test/capture/layout.test.ts checks against the addon's offsetof/sizeof.
import {
  type CaptureRecord,
  RECORD_LAYOUT,
  RECORD_SIZE,
  RECORD_VERSION,
  type RecordMember,
} from '../../src/capture/record.js';
import { RING_HEADER, RING_HEADER_SIZE, RING_MAGIC } from '../../src/capture/ring.js';

/** Header slots as indices of a BigUint64Array / Uint32Array over the ring. */
export const HEADER_U64 = {
  writeSeq: RING_HEADER.writeSeqOffset / 8,
  readSeq: RING_HEADER.readSeqOffset / 8,
  lost: RING_HEADER.lostOffset / 8,
};
export const HEADER_U32 = { wakePending: RING_HEADER.wakePendingOffset / 4 };

export function makeRing(capacity: number): ArrayBuffer {
  const buf = new ArrayBuffer(RING_HEADER_SIZE + capacity * RECORD_SIZE);
  const u32 = new Uint32Array(buf);
  u32[RING_HEADER.magicOffset / 4] = RING_MAGIC;
  u32[RING_HEADER.versionOffset / 4] = 1;
  u32[RING_HEADER.capacityOffset / 4] = capacity;
  u32[RING_HEADER.recordSizeOffset / 4] = RECORD_SIZE;
  return buf;
}

/** Any decoded field may be given; the rest stay zero (backend 1, syscallPathname = pathname). */
export type SyntheticRecord = Partial<Omit<CaptureRecord, 'size' | 'version'>>;

function putString(bytes: Uint8Array, offset: number, length: number, s: string): void {
  const enc = new TextEncoder().encode(s).subarray(0, length - 1);
  bytes.set(enc, offset);
}

export function encodeRecord(buf: ArrayBuffer, offset: number, r: SyntheticRecord): void {
  const v = new DataView(buf, offset, RECORD_SIZE);
  const bytes = new Uint8Array(buf, offset, RECORD_SIZE);
  bytes.fill(0);
  const fields: Record<string, unknown> = {
    backend: 1,
    syscallPathname: r.pathname,
    ...r,
    size: RECORD_SIZE,
    version: RECORD_VERSION,
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const f = RECORD_LAYOUT[name as RecordMember];
    if (!f) throw new Error(`no record field ${name}`);
    if (f.type === 'str') putString(bytes, f.offset, f.size, value as string);
    else if (f.type === 'u64') v.setBigUint64(f.offset, value as bigint, true);
    else if (f.type === 'bytes') throw new Error(`record field ${name} is not encodable`);
    else SET_NUMBER[f.type](v, f.offset, value as number);
  }
}

/** Little-endian setters of the numeric member types. */
const SET_NUMBER = {
  u8: (v: DataView, at: number, x: number) => v.setUint8(at, x),
  u16: (v: DataView, at: number, x: number) => v.setUint16(at, x, true),
  u32: (v: DataView, at: number, x: number) => v.setUint32(at, x, true),
  i32: (v: DataView, at: number, x: number) => v.setInt32(at, x, true),
};

/** Producer side, as ring.cc does it: returns false when full. */
export function push(buf: ArrayBuffer, r: SyntheticRecord): boolean {
  const u64 = new BigUint64Array(buf, 0, RING_HEADER_SIZE / 8);
  const capacity = new Uint32Array(buf)[RING_HEADER.capacityOffset / 4] ?? 0;
  const write = u64[HEADER_U64.writeSeq] ?? 0n;
  const read = u64[HEADER_U64.readSeq] ?? 0n;
  if (write - read >= BigInt(capacity)) {
    u64[HEADER_U64.lost] = (u64[HEADER_U64.lost] ?? 0n) + 1n;
    return false;
  }
  const slot = Number(write % BigInt(capacity));
  encodeRecord(buf, RING_HEADER_SIZE + slot * RECORD_SIZE, r);
  u64[HEADER_U64.writeSeq] = write + 1n;
  return true;
}
