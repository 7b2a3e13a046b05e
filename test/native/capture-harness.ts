// Starts a native capture and collects decoded records, for the live tests.
import type { CaptureRecord } from '../../src/capture/record.js';
import { RingReader } from '../../src/capture/ring.js';
import { loadNative, type NativeBackendName, type NativeCapture } from '../../src/native.js';
import { waitFor } from '../helpers/live.js';

export interface Harness {
  capture: NativeCapture;
  reader: RingReader;
  records: CaptureRecord[];
  warnings: string[];
  waitFor(pred: (r: CaptureRecord) => boolean, timeoutMs?: number): Promise<CaptureRecord>;
  stop(): void;
}

export function startHarness(
  ringCapacity?: number,
  backend: NativeBackendName = 'fanotify',
): Harness {
  const records: CaptureRecord[] = [];
  const warnings: string[] = [];
  let reader: RingReader | undefined;
  const capture = loadNative().createCapture({
    backend,
    ...(ringCapacity ? { ringCapacity } : {}),
    onWake: () => reader?.drain((r) => records.push(r)),
    onWarn: (m) => warnings.push(m),
  });
  reader = new RingReader(capture.ring);
  capture.start();
  return {
    capture,
    reader,
    records,
    warnings,
    stop: () => capture.stop(),
    async waitFor(pred, timeoutMs = 5000) {
      const next = () => {
        reader?.drain((r) => records.push(r));
        return records.find(pred);
      };
      return waitFor('a matching record', next, timeoutMs).catch(() => {
        throw new Error(
          `no matching record within ${timeoutMs} ms; got ${JSON.stringify(
            records.map((r) => [r.hostPid, r.comm, r.targetPid, r.pathname]),
          )}, stats ${JSON.stringify(capture.stats())}`,
        );
      });
    },
  };
}
