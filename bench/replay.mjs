#!/usr/bin/env node
// Replay throughput against a bare JSON.parse loop over the same generated file, in the same
// run, interleaved and repeated. Imports the built package (run `npm run build` first).
//
//   node bench/replay.mjs [--events N] [--rounds R] [--out FILE]
//
// Both sides read the file through the same streaming line splitter; the bare side then only
// calls JSON.parse per line, the replay side runs the real pipeline: parse and validate into
// events (exact 64-bit values), route through the signature engine, format each finding and
// hand it to a sink. Prints a table and writes bench/results/replay.json.

import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { replay, splitLines } from '../dist/replay/index.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: new URL('results/replay.json', import.meta.url).pathname },
  },
});
const eventCount = Number(values.events);
const rounds = Number(values.rounds);

// Deterministic generator (xorshift32) so every run measures the same file.
let seed = 0x9e3779b9;
function random() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const pick = (items) => items[Math.floor(random() * items.length)];

const ORDINARY_PATHS = [
  '/etc/ld.so.cache',
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libssl.so.3',
  '/etc/passwd',
  '/etc/nsswitch.conf',
  '/proc/meminfo',
  '/proc/self/status',
  '/proc/2231/stat',
  '/proc/2231/maps',
  '/sys/fs/cgroup/memory.max',
  '/var/log/syslog',
  '/home/build/project/node_modules/.package-lock.json',
  '/tmp/tmp.bJx2kq/out.o',
];
const COMMS = [
  ['bash', '/usr/bin/bash'],
  ['node', '/usr/bin/node'],
  ['systemd-oomd', '/usr/lib/systemd/systemd-oomd'],
  ['python3', '/usr/bin/python3.12'],
  ['cc1', '/usr/lib/gcc/x86_64-linux-gnu/13/cc1'],
  ['containerd', '/usr/bin/containerd'],
];
const FLAG_STRINGS = [
  'O_RDONLY|O_LARGEFILE',
  'O_RDONLY|O_CLOEXEC',
  'O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE',
  'O_RDWR|O_CLOEXEC',
];

function eventLine(i, timestamp) {
  const [comm, exe] = pick(COMMS);
  const pid = 1000 + Math.floor(random() * 60000);
  const roll = random();
  // 2% procfs mem opens (the findings), 8% other event names, the rest ordinary opens.
  const memOpen = roll < 0.02;
  const name = roll > 0.92 ? pick(['openat', 'sched_process_exec', 'close']) : 'security_file_open';
  const path = memOpen
    ? `/proc/${pid + 7}/${random() < 0.3 ? `task/${pid + 9}/` : ''}mem`
    : pick(ORDINARY_PATHS);
  const flags =
    random() < 0.5
      ? JSON.stringify(pick(FLAG_STRINGS))
      : String(pick([32768, 524288, 557058, 33345, 1]));
  const flagsType = flags.startsWith('"') ? 'string' : 'int';
  const ctime = 1732600000000000000n + BigInt(Math.floor(random() * 1e15));
  return (
    `{"timestamp":${timestamp},"threadStartTime":${timestamp - 123456789n},"processorId":${i % 8},` +
    `"processId":${pid},"cgroupId":${10000 + (i % 500)},"threadId":${pid},"parentProcessId":${pid - 3},` +
    `"hostProcessId":${pid},"hostThreadId":${pid},"hostParentProcessId":${pid - 3},"userId":${i % 3 === 0 ? 0 : 1000},` +
    `"mountNamespace":4026531841,"pidNamespace":4026531836,"processName":"${comm}","executable":{"path":"${exe}"},` +
    `"hostName":"bench-host","containerId":"","container":{},"kubernetes":{},"eventId":"732","eventName":"${name}",` +
    `"matchedPolicies":[""],"argsNum":6,"returnValue":0,"syscall":"openat","stackAddresses":null,` +
    `"contextFlags":{"containerStarted":false,"isCompat":false},"threadEntityId":${(i * 2654435761) >>> 0},` +
    `"processEntityId":${(i * 2246822519) >>> 0},"parentEntityId":${(i * 3266489917) >>> 0},"args":[` +
    `{"name":"pathname","type":"const char*","value":"${path}"},{"name":"flags","type":"${flagsType}","value":${flags}},` +
    `{"name":"dev","type":"dev_t","value":${memOpen ? 22 : 66306}},{"name":"inode","type":"unsigned long","value":${100000 + i}},` +
    `{"name":"ctime","type":"unsigned long","value":${ctime}},{"name":"syscall_pathname","type":"const char*","value":"${path}"}]}`
  );
}

function generate(file) {
  const parts = [];
  let timestamp = 1732675200000000000n;
  for (let i = 0; i < eventCount; i++) {
    timestamp += BigInt(1000 + Math.floor(random() * 50000));
    parts.push(eventLine(i, timestamp));
  }
  const text = `${parts.join('\n')}\n`;
  writeFileSync(file, text);
  return Buffer.byteLength(text);
}

const open = (file) => createReadStream(file, { highWaterMark: 1024 * 1024 });

async function bareParse(file) {
  let parsed = 0;
  await splitLines(open(file), {
    line(text) {
      JSON.parse(text);
      parsed++;
    },
    tooLong() {},
  });
  return { lines: parsed };
}

async function replayPipeline(file, format) {
  let bytes = 0;
  const summary = await replay(open(file), {
    format,
    write: (text) => {
      bytes += text.length;
    },
    onMalformed: (error) => {
      throw error;
    },
  });
  return { lines: summary.events, findings: summary.findings, outputChars: bytes };
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { ...result, seconds, perSecond: result.lines / seconds };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const dir = mkdtempSync(join(tmpdir(), 'procmem-guard-bench-'));
try {
  const file = join(dir, 'events.jsonl');
  const fileBytes = generate(file);
  const variants = {
    bare: () => bareParse(file),
    'replay json': () => replayPipeline(file, 'json'),
    'replay tracee': () => replayPipeline(file, 'tracee'),
  };
  // One warm-up pass each so that every variant runs optimised code.
  for (const run of Object.values(variants)) await run();
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  const ratios = { 'replay json': [], 'replay tracee': [] };
  let findings = 0;
  for (let round = 0; round < rounds; round++) {
    // Interleave: bare, replay, bare, replay..., so drift in machine load hits both sides.
    const bare = await timed(variants.bare);
    samples.bare.push(bare.perSecond);
    for (const name of Object.keys(ratios)) {
      const result = await timed(variants[name]);
      findings = result.findings;
      samples[name].push(result.perSecond);
      ratios[name].push(result.perSecond / bare.perSecond);
    }
  }
  const bareMedian = median(samples.bare);
  const rows = Object.entries(samples).map(([name, xs]) => ({
    variant: name,
    'events/s (median)': Math.round(median(xs)),
    'events/s (min)': Math.round(Math.min(...xs)),
    'events/s (max)': Math.round(Math.max(...xs)),
    'ratio to bare (median of rounds)':
      name === 'bare' ? 1 : Number(median(ratios[name]).toFixed(3)),
  }));
  console.log(
    `replay bench: ${eventCount} events (${(fileBytes / 1e6).toFixed(1)} MB, ${findings} findings), ${rounds} rounds, node ${process.version}, ${cpus()[0]?.model} x${cpus().length}`,
  );
  console.table(rows);
  const result = {
    bench: 'replay',
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      memoryBytes: totalmem(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    events: eventCount,
    fileBytes,
    findings,
    rounds,
    goal: 'replay events/s >= 0.8 x bare JSON.parse events/s',
    bareEventsPerSecond: Math.round(bareMedian),
    variants: rows,
    ratios: Object.fromEntries(
      Object.entries(ratios).map(([k, v]) => [k, v.map((x) => Number(x.toFixed(3)))]),
    ),
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
