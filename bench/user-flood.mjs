// The mem-open flood of issue 12 (its table's row 1), shared by bench/flood.mjs and
// bench/soak.mjs: user `nobody` starts `targets` sleeps of its own, then `openers` short-lived
// processes (test/helpers/flood_open.c) that each open every one of those mem files once
// (24 000 distinct opens in about a second with the defaults).
import { spawn } from 'node:child_process';
import { buildC } from './lib.mjs';

const NOBODY = { uid: 65534, gid: 65534 };
let floodOpen = '';

/**
 * Starts the flood. Returns when every opener has been spawned: `startedAt` (performance.now()
 * before the first opener), `done` (resolves once every opener exited) and `end()`, which kills
 * the targets (call it after `done`).
 */
export function startUserFlood({ targets = 300, openers = 80 } = {}) {
  floodOpen ||= buildC(
    'flood_open',
    new URL('../test/helpers/flood_open.c', import.meta.url).pathname,
  );
  const sleeps = Array.from({ length: targets }, () =>
    spawn('sleep', ['600'], { stdio: 'ignore', ...NOBODY }),
  );
  const pids = sleeps.map((s) => String(s.pid));
  const startedAt = performance.now();
  const done = Promise.all(
    Array.from({ length: openers }, () => {
      const child = spawn(floodOpen, pids, { stdio: 'ignore', ...NOBODY });
      return new Promise((r) => child.on('exit', r));
    }),
  );
  return {
    startedAt,
    done,
    end: () => {
      for (const s of sleeps) s.kill();
    },
  };
}
