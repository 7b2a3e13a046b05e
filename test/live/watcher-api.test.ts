// ProcMemWatcher as a library user drives it: events.on / for await, AbortSignal, errors.
import { on } from 'node:events';
import { describe, expect, it } from 'vitest';
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

  it('rejects an already aborted signal with an AbortError, before touching the kernel', async () => {
    const aborted = new ProcMemWatcher({ signal: AbortSignal.abort() });
    await expect(aborted.start()).rejects.toThrow(/aborted signal/);
    await expect(aborted.start()).rejects.toMatchObject({ name: 'AbortError' });
    expect(aborted.running).toBe(false);
  });
});
