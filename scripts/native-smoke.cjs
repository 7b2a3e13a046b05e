#!/usr/bin/env node
// Exercises the addon's live capture paths in one small process: the sanitizer test
// (test/native/sanitizers.test.ts) runs it with the ASan+UBSan build of the addon and the
// sanitizer runtimes preloaded (vitest itself does not start under an LD_PRELOADed libasan);
// valgrind runs by hand use it too. Root only. Usage:
//   node scripts/native-smoke.cjs [ADDON]     ADDON: a .node file (default: the addon the
//                                             package loads, dist/native.js)
//   node scripts/build-native.mjs --sanitize  prints the sanitized addon's path; then
//   LD_PRELOAD=$(c++ -print-file-name=libasan.so):$(c++ -print-file-name=libubsan.so) \
//     node scripts/native-smoke.cjs build/sanitize/build/Release/procmem_guard.node
// For each backend of BACKENDS (default ebpf,fanotify,audit), CYCLES times (default 3): start,
// a mem read by dd that must arrive in the ring, the other kinds of opens (own mem, a held fd,
// a write open, a target that exits while its mem is held), stats(), stop(); observeIo is on:
// under eBPF dd's io summary must arrive too, under fanotify the summary of a held file; in
// the last cycle also a read through a new pid namespace's procfs, repeated until it arrives.
// Prints one line per backend and exits 1 on the first failure (a backend that does not start,
// an open that is not captured within 10 s).
const { spawn, spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { RingReader } = require('../dist/capture/ring.js');

const addon = process.argv[2]
  ? require(resolve(process.argv[2]))
  : require('../dist/native.js').loadNative();
const backends = (process.env.BACKENDS ?? 'ebpf,fanotify,audit').split(',');
const cycles = Number(process.env.CYCLES ?? 3);
const WAIT_MS = 10_000;
const ownPidNs = statSync('/proc/self/ns/pid').ino;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first record `match` accepts, polling what onWake drained; bounded. */
async function arrival(seen, what, match) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const r = seen.find(match);
    if (r) return r;
    if (Date.now() > end) throw new Error(`${what}: not captured within ${WAIT_MS} ms`);
    await sleep(10);
  }
}

const sh = (script) => spawnSync('sh', ['-c', script], { stdio: 'ignore' });

/** Opens by every path the backends treat differently; none is waited for. */
function otherOpens() {
  sh('dd if=/proc/self/mem of=/dev/null bs=1 count=0 2>/dev/null');
  sh('exec 3</proc/self/mem; sleep 0.05');
  sh('sleep 0.002 & p=$!; exec 3</proc/$p/mem; wait; sleep 0.02'); // the target exits first
  sh('exec 3>/proc/self/task/$$/mem');
}

/** dd in a new pid namespace with its own /proc reads its pid 1's mem until told to stop. */
async function namespaceRead(seen) {
  const dir = mkdtempSync(join(tmpdir(), 'pmg-smoke-'));
  const loop = `while [ ! -e ${dir}/go ]; do dd if=/proc/1/mem of=/dev/null bs=1 count=0 2>/dev/null; sleep 0.05; done`;
  const child = spawn('unshare', ['--fork', '--pid', '--mount-proc', 'sh', '-c', loop], {
    stdio: 'ignore',
  });
  try {
    await arrival(seen, 'a read in a new pid namespace', (r) => r.pidNs !== ownPidNs);
  } finally {
    writeFileSync(join(dir, 'go'), '');
    await new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A mem file held 0.3 s, then closed: its io summary (record kind 1) must arrive. */
async function heldSummary(seen, victim) {
  const holder = spawn('sh', ['-c', `exec 3</proc/${victim}/mem; sleep 0.3`], { stdio: 'ignore' });
  await arrival(
    seen,
    'the io summary of a held mem file',
    (r) => r.recordKind === 1 && r.hostPid === holder.pid,
  );
}

async function exercise(backend, victim) {
  const seen = [];
  let reader;
  const capture = addon.createCapture({
    backend,
    ringCapacity: 64,
    // Observed access runs too (eBPF programs and io ring; fanotify inode marks, summaries).
    observeIo: true,
    onWake: () => reader.drain((r) => seen.push(r)),
    onWarn: (m) => console.log(`${backend} warn: ${m}`),
  });
  reader = new RingReader(capture.ring);
  for (let i = 0; i < cycles; i++) {
    capture.start();
    try {
      const dd = spawnSync('dd', [`if=/proc/${victim}/mem`, 'of=/dev/null', 'bs=1', 'count=0']);
      if (dd.status !== 0) throw new Error(`dd of /proc/${victim}/mem failed: ${dd.stderr}`);
      await arrival(seen, `${backend}: dd's read`, (r) => r.hostPid === dd.pid && r.recordKind === 0);
      if (backend === 'ebpf')
        await arrival(seen, `${backend}: dd's io summary`, (r) => r.hostPid === dd.pid && r.recordKind === 1);
      otherOpens();
      if (backend === 'fanotify') await heldSummary(seen, victim);
      if (i === cycles - 1) await namespaceRead(seen);
      capture.stats();
    } finally {
      capture.stop();
    }
  }
  reader.drain((r) => seen.push(r));
  const stats = capture.stats();
  console.log(`${backend}: ok, ${cycles} cycles, ${seen.length} records, ${JSON.stringify(stats)}`);
}

(async () => {
  const runtime = readFileSync('/proc/self/maps', 'utf8').includes('libasan')
    ? 'asan preloaded'
    : 'no sanitizer runtime';
  console.log(`probe: kernel ${addon.probe().kernel}; ${runtime}`);
  const victim = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    for (const backend of backends) await exercise(backend, victim.pid);
  } finally {
    victim.kill();
  }
})().catch((err) => {
  console.error(`native-smoke: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exitCode = 1;
});
