// Builds ring buffers the way native/ring/ring.cc does, so the JS reader can be tested
// without the addon. Mirrors native/record.h offsets (a second, independent copy on purpose).
import { RECORD_SIZE, RECORD_VERSION } from '../../src/capture/record.js';
import { RING_HEADER_SIZE, RING_MAGIC } from '../../src/capture/ring.js';

export function makeRing(capacity: number): ArrayBuffer {
  const buf = new ArrayBuffer(RING_HEADER_SIZE + capacity * RECORD_SIZE);
  const u32 = new Uint32Array(buf);
  u32[0] = RING_MAGIC;
  u32[1] = 1;
  u32[2] = capacity;
  u32[3] = RECORD_SIZE;
  return buf;
}

export interface SyntheticRecord {
  hostPid?: number;
  hostTid?: number;
  targetPid?: number;
  targetTid?: number;
  openFlags?: number;
  flagsSource?: number;
  recordFlags?: number;
  timestampNs?: bigint;
  dev?: bigint;
  inode?: bigint;
  comm?: string;
  pathname?: string;
  exe?: string;
  containerId?: string;
  processorId?: number;
}

function putString(bytes: Uint8Array, offset: number, length: number, s: string): void {
  const enc = new TextEncoder().encode(s).subarray(0, length - 1);
  bytes.set(enc, offset);
}

export function encodeRecord(buf: ArrayBuffer, offset: number, r: SyntheticRecord): void {
  const v = new DataView(buf, offset, RECORD_SIZE);
  const bytes = new Uint8Array(buf, offset, RECORD_SIZE);
  bytes.fill(0);
  v.setUint32(0, RECORD_SIZE, true);
  v.setUint16(4, RECORD_VERSION, true);
  v.setUint8(6, 1);
  v.setUint8(7, r.flagsSource ?? 0);
  v.setBigUint64(8, r.timestampNs ?? 0n, true);
  v.setInt32(24, r.hostPid ?? 0, true);
  v.setInt32(28, r.hostTid ?? 0, true);
  v.setInt32(56, r.targetPid ?? 0, true);
  v.setInt32(60, r.targetTid ?? 0, true);
  v.setInt32(64, r.openFlags ?? 0, true);
  v.setUint32(76, r.recordFlags ?? 0, true);
  v.setBigUint64(80, r.dev ?? 0n, true);
  v.setBigUint64(88, r.inode ?? 0n, true);
  putString(bytes, 128, 16, r.comm ?? '');
  putString(bytes, 144, 72, r.containerId ?? '');
  putString(bytes, 216, 256, r.pathname ?? '');
  putString(bytes, 472, 256, r.pathname ?? '');
  putString(bytes, 728, 256, r.exe ?? '');
  v.setUint32(984, r.processorId ?? 0, true);
}

/** Producer side, as ring.cc does it: returns false when full. */
export function push(buf: ArrayBuffer, r: SyntheticRecord): boolean {
  const u64 = new BigUint64Array(buf, 0, RING_HEADER_SIZE / 8);
  const capacity = new Uint32Array(buf)[2] ?? 0;
  const write = u64[8] ?? 0n;
  const read = u64[16] ?? 0n;
  if (write - read >= BigInt(capacity)) {
    u64[24] = (u64[24] ?? 0n) + 1n;
    return false;
  }
  const slot = Number(write % BigInt(capacity));
  encodeRecord(buf, RING_HEADER_SIZE + slot * RECORD_SIZE, r);
  u64[8] = write + 1n;
  return true;
}
