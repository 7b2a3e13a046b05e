// Live fanotify capture against the real kernel: the shared live cases (live-cases.ts) with
// what is specific to fanotify. Needs root (CI runs as root).
import { expect } from 'vitest';
import { FlagsSource } from '../../src/capture/record.js';
import { describeLiveCases } from './live-cases.js';

describeLiveCases({
  backend: 'fanotify',
  // The fd may be closed before the event is read: fdinfo if still open, else inferred.
  quickFlags: [FlagsSource.fdinfo, FlagsSource.inferred],
  heldFlags: [FlagsSource.fdinfo],
  whileRunning: (h) => expect(h.capture.stats().marks).toBeGreaterThanOrEqual(1),
  afterStop: (h) => expect(h.capture.stats().marks).toBe(0),
});
