// Accuracy of the open flags a backend reports, not speed: ROUNDS openers per mode (r, w, rw;
// holding the file 50 ms or closing it at once) open /proc/<pid>/mem of a target while
// BURNERS CPU-bound processes load the machine, and every reported access mode is compared
// with the real one. Usage: node bench/flags.mjs (BENCH_BACKEND, BENCH_FLAGS_ROUNDS,
// BENCH_FLAGS_BURNERS, BENCH_FLAGS_NICE). Exits 1 if a held file was reported with the wrong
// access mode. `taskset -c 0 chrt -f 10 node bench/flags.mjs` puts the watcher and the openers
// on one CPU with the watcher real-time: the opener's open wakes the reader, which preempts it
// before its fd is installed, nearly every time.
import { spawn } from 'node:child_process';
import { ProcMemWatcher } from '../dist/index.js';
import { buildC, printTable, writeResult } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_FLAGS_ROUNDS ?? 100);
const BURNERS = Number(process.env.BENCH_FLAGS_BURNERS ?? 2);
const backend = process.env.BENCH_BACKEND ?? 'fanotify';
const opener = buildC('open_mem', new URL('../test/helpers/open_mem.c', import.meta.url).pathname);
const MODES = { r: 0, w: 1, rw: 2 };
// Openers at nice 19 beside the burners get preempted often, also between the kernel queueing
// the open event and installing the fd: the race the flags logic must survive.
const NICE = process.env.BENCH_FLAGS_NICE ?? '19';

function runOpener(args) {
  return new Promise((resolve, reject) => {
    // chrt -o: a normal-policy opener even when this process runs real-time (see the usage).
    const child = spawn('chrt', ['-o', '0', 'nice', '-n', NICE, opener, ...args], {
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(child.pid) : reject(new Error(`exit ${code}`)),
    );
  });
}

const burners = Array.from({ length: BURNERS }, () =>
  spawn('chrt', ['-o', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
);
const target = spawn('sleep', ['600'], { stdio: 'ignore' });
const watcher = new ProcMemWatcher({ backend });
const events = new Map();
watcher.on('event', (e) => {
  const list = events.get(e.hostProcessId) ?? [];
  list.push(e);
  events.set(e.hostProcessId, list);
});
await watcher.start();
const rows = [];
let nativeFlags = {};
try {
  for (const hold of ['50', '0']) {
    for (const [mode, acc] of Object.entries(MODES)) {
      const counts = { wrong: 0, missing: 0, fdinfo: 0, inferred: 0, unknown: 0, syscall: 0 };
      const wrongSeen = [];
      const pids = [];
      for (let i = 0; i < ROUNDS; i++)
        pids.push(await runOpener([`/proc/${target.pid}/mem`, mode, hold]));
      await new Promise((r) => setTimeout(r, 2000)); // the longest flags wait is 1.5 s
      for (const pid of pids) {
        const e = events.get(pid)?.[0];
        if (!e) {
          counts.missing++;
          continue;
        }
        const flags = Number(e.args.find((a) => a.name === 'flags')?.value);
        const source = e.procmemGuard?.flagsSource ?? 'unknown';
        counts[source] = (counts[source] ?? 0) + 1;
        // Inferred O_RDWR for a closed write-only file and unknown (O_RDWR) are documented.
        const reported = flags & 3;
        const acceptable =
          reported === acc ||
          (reported === 2 && (source === 'unknown' || (source === 'inferred' && acc === 1)));
        if (!acceptable) {
          counts.wrong++;
          wrongSeen.push(`${reported}/${source}`);
        }
      }
      rows.push({ mode, hold, ...counts, wrongSeen: wrongSeen.slice(0, 3).join(' ') });
    }
  }
  nativeFlags = Object.fromEntries(
    Object.entries(watcher.stats().native).filter(([k]) => /flags/.test(k)),
  );
} finally {
  await watcher.stop();
  target.kill();
  for (const b of burners) b.kill();
}
printTable(`flags accuracy (${backend}, ${ROUNDS} per row, ${BURNERS} burners)`, rows);
console.log('native flag counters:', JSON.stringify(nativeFlags));
writeResult(`flags-${backend}`, {
  rounds: ROUNDS,
  burners: BURNERS,
  rows,
  nativeFlags,
});
const heldWrong = rows.filter((r) => r.hold !== '0').reduce((a, r) => a + r.wrong + r.missing, 0);
process.exit(heldWrong === 0 ? 0 : 1);
