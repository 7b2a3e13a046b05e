#!/usr/bin/env node
// Exercises the native capture paths in one small process, for sanitizer and valgrind runs
// (vitest does not start under an LD_PRELOADed libasan). Root only. Usage:
//   PMG_ASAN=1 npm run build:native
//   LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so) \
//     node scripts/native-smoke.cjs          (or: valgrind --leak-check=full node ...)
//   npm run build:native                     (back to the normal build)
// CYCLES=n sets the number of start/stop cycles (default 20); BACKEND=ebpf|audit runs the
// cycles on that backend instead of fanotify.
const { spawn, spawnSync } = require('node:child_process');

// The addon as the package resolves it (dist/native.js: prebuild, build/Release, build/Debug).
const addon = require('../dist/native.js').loadNative();
addon.probe();
const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
// Ring header slots as the addon lays them out (native/ring/ring.h).
const { ring } = addon.recordLayout();
let wakes = 0;
const mainBackend = process.env.BACKEND ?? 'fanotify';
const capture = addon.createCapture({
  backend: mainBackend,
  ringCapacity: 16,
  onWake: () => {
    // Drain by hand: clear wake_pending, then read_seq = write_seq.
    const u32 = new Uint32Array(capture.ring, 0, ring.headerSize / 4);
    const u64 = new BigUint64Array(capture.ring, 0, ring.headerSize / 8);
    Atomics.store(u32, ring.wakePendingOffset / 4, 0);
    Atomics.store(u64, ring.readSeqOffset / 8, Atomics.load(u64, ring.writeSeqOffset / 8));
    wakes++;
  },
  onWarn: (m) => console.log('warn:', m),
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const cycles = Number(process.env.CYCLES ?? 20);
  for (let i = 0; i < cycles; i++) {
    capture.start();
    spawnSync('dd', [`if=/proc/${victim.pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
    spawnSync('dd', ['if=/proc/self/mem', 'of=/dev/null', 'bs=1', 'count=0']);
    spawnSync('sh', ['-c', 'exec 3</proc/self/mem; sleep 0.05']);
    // The target exits while the opener still holds its mem fd.
    spawnSync('sh', ['-c', 'sleep 0.002 & p=$!; exec 3</proc/$p/mem; wait; sleep 0.02']);
    spawnSync('sh', ['-c', 'exec 3>/proc/self/task/$$/mem']);
    await sleep(30);
    capture.stop();
  }
  capture.start(); // a new namespace's procfs, marked at its first exec
  spawnSync('unshare', [
    '--fork',
    '--pid',
    '--mount-proc',
    'sh',
    '-c',
    'dd if=/proc/1/mem of=/dev/null bs=1 count=0; sleep 0.1',
  ]);
  await sleep(700);
  capture.stop();
  for (const backend of ['ebpf', 'fanotify', 'audit'].filter((b) => b !== mainBackend)) {
    const other = addon.createCapture({ backend, onWake() {} });
    try {
      other.start();
      other.stop();
      console.log(`${backend}: start/stop ok`);
    } catch (e) {
      console.log(`${backend}: ${e.code} ${e.message}`);
    }
  }
  console.log('wakes', wakes, JSON.stringify(capture.stats()));
  victim.kill();
})();
