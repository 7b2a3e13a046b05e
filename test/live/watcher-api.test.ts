// ProcMemWatcher as a library user drives it: events.on / for await, AbortSignal, errors.
import { on } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/watcher/errors.js';
import { ProcMemWatcher } from '../../src/watcher/watcher.js';
import { cHelper, liveName, run, runsHere, spawnTarget, waitFor } from '../helpers/live.js';

describe.skipIf(!runsHere())(liveName('ProcMemWatcher API (live)'), () => {
  it('yields findings through events.on and stops when its AbortSignal aborts', async () => {
    const openMem = cHelper('open_mem');
    const target = spawnTarget();
    const abort = new AbortController();
    const watcher = new ProcMemWatcher({ signal: abort.signal });
    await watcher.start();
    expect(watcher.running).toBe(true);
    const seen: string[] = [];
    let opener = 0;
    const opened = run(openMem, [`/proc/${target.pid}/mem`, 'r', '50']).then((r) => {
      opener = r.pid;
    });
    try {
      for await (const [finding] of on(watcher, 'finding', { signal: abort.signal })) {
        await opened;
        if (finding.event.hostProcessId !== opener) continue;
        seen.push(finding.sigMetadata.ID);
        abort.abort();
      }
    } catch (err) {
      expect((err as Error).name).toBe('AbortError');
    } finally {
      target.kill();
    }
    expect(seen).toEqual(['TRC-1023']);
    await waitFor('the abort to stop the watcher', () => !watcher.running);
    expect(watcher.stats().findings).toBeGreaterThan(0);
    await watcher.stop(); // idempotent after the abort
  });

  it('rejects an unknown backend and an already aborted signal with a CaptureError', async () => {
    const bad = new ProcMemWatcher({ backend: 'bpf' as never });
    await expect(bad.start()).rejects.toBeInstanceOf(CaptureError);
    await expect(bad.start()).rejects.toThrow(/unknown backend "bpf"/);
    const aborted = new ProcMemWatcher({ signal: AbortSignal.abort() });
    await expect(aborted.start()).rejects.toThrow(/aborted signal/);
    expect(aborted.running).toBe(false);
  });
});
