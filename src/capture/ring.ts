// Consumer side of the shared ring (native/ring/ring.h documents the layout): the JS thread
// drains every available record in one batch and publishes read_seq with Atomics.
import { type CaptureRecord, decodeRecord, RECORD_SIZE } from './record.js';

export const RING_MAGIC = 0x52474d50;
export const RING_HEADER_VERSION = 1;
export const RING_HEADER_SIZE = 256;
/** Byte offsets in the ring header (checked against the addon by test/capture/layout.test.ts). */
export const RING_HEADER = {
  magicOffset: 0,
  versionOffset: 4,
  capacityOffset: 8,
  recordSizeOffset: 12,
  writeSeqOffset: 64,
  readSeqOffset: 128,
  wakePendingOffset: 136,
  lostOffset: 192,
} as const;
// Indices into the header as BigUint64Array and Uint32Array.
const WRITE_SEQ = RING_HEADER.writeSeqOffset / 8;
const READ_SEQ = RING_HEADER.readSeqOffset / 8;
const WAKE_PENDING = RING_HEADER.wakePendingOffset / 4;
const LOST = RING_HEADER.lostOffset / 8;

/** Loss causes, in ring header slot order (native LossCause). */
export const LOSS_CAUSES = [
  'ringFull',
  'kernelOverflow',
  'unreadableEvent',
  'auditLost',
  'auditIncomplete',
  'folded',
  'bpfRingFull',
  'ioSummaryLost',
] as const;
export type LossCause = (typeof LOSS_CAUSES)[number];
export type LossCounters = Record<LossCause, number>;

export class RingReader {
  readonly capacity: number;
  private readonly u64: BigUint64Array;
  private readonly u32: Uint32Array;
  private readonly view: DataView;

  constructor(readonly buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer, 0, RING_HEADER_SIZE / 4);
    this.u64 = new BigUint64Array(buffer, 0, RING_HEADER_SIZE / 8);
    this.view = new DataView(buffer);
    const [magic, version, capacity, recordSize] = [
      RING_HEADER.magicOffset,
      RING_HEADER.versionOffset,
      RING_HEADER.capacityOffset,
      RING_HEADER.recordSizeOffset,
    ].map((offset) => this.u32[offset / 4] ?? 0);
    if (magic !== RING_MAGIC || version !== RING_HEADER_VERSION || recordSize !== RECORD_SIZE) {
      throw new Error(
        `not a procmem-guard ring (magic ${magic?.toString(16)}, version ${version}, record size ${recordSize})`,
      );
    }
    if (!capacity || (capacity & (capacity - 1)) !== 0) {
      throw new Error(`ring capacity ${capacity} is not a power of two`);
    }
    if (buffer.byteLength < RING_HEADER_SIZE + capacity * RECORD_SIZE) {
      throw new Error(`ring buffer too small for ${capacity} records`);
    }
    this.capacity = capacity;
  }

  /** Records written but not yet drained. */
  available(): number {
    return Number(Atomics.load(this.u64, WRITE_SEQ) - Atomics.load(this.u64, READ_SEQ));
  }

  /**
   * Calls `cb` for every record available now, then frees their slots. Clears wake_pending
   * first, so a record written during the drain wakes us again rather than being stranded.
   * If `cb` throws, the records before it stay consumed and the exception propagates.
   */
  drain(cb: (record: CaptureRecord) => void): number {
    Atomics.store(this.u32, WAKE_PENDING, 0);
    const write = Atomics.load(this.u64, WRITE_SEQ);
    let read = Atomics.load(this.u64, READ_SEQ);
    const start = read;
    const mask = BigInt(this.capacity - 1);
    try {
      while (read < write) {
        const slot = Number(read & mask);
        const record = decodeRecord(this.view, RING_HEADER_SIZE + slot * RECORD_SIZE);
        read += 1n;
        cb(record);
      }
    } finally {
      Atomics.store(this.u64, READ_SEQ, read);
    }
    return Number(read - start);
  }

  /** Cumulative losses by cause since the ring was created. */
  losses(): LossCounters {
    const out = {} as LossCounters;
    LOSS_CAUSES.forEach((cause, i) => {
      out[cause] = Number(Atomics.load(this.u64, LOST + i));
    });
    return out;
  }
}
