#!/usr/bin/env node
// Replay throughput against a bare JSON.parse loop over the same generated file, in the same
// run, interleaved and repeated. Imports the built package (run `npm run build` first).
//
//   node bench/replay.mjs [--events N] [--rounds R] [--out FILE]
//
// Both sides read the file through the same streaming line splitter; the bare side then only
// calls JSON.parse per line, the replay side runs the real pipeline: read and validate into
// events (exact 64-bit values), route through the signature engine, format each finding and
// hand it to a sink. Prints a table and writes bench/results/replay.json.
// The same events are written in three layouts (Tracee's compact one, spaced, keys sorted)
// and each layout is compared with the bare loop over its own file. Replay reads
// security_file_open lines without JSON.parse (src/events/tracee-layout.ts: Tracee's layout,
// and the layout it learns from the first line); the stage table also shows the cost of the
// general path that other lines take.

import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignatureEngine } from '../dist/engine/index.js';
import { parseEventLine, parseEventLineGeneral } from '../dist/events/index.js';
import { formatFindingJson } from '../dist/output/index.js';
import { replay, splitLines } from '../dist/replay/index.js';
import { seededRandom } from './lib.mjs';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: new URL('results/replay.json', import.meta.url).pathname },
  },
});
const eventCount = Number(values.events);
const rounds = Number(values.rounds);

const { random, pick } = seededRandom(0x9e3779b9);

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

function eventObject(i, timestamp) {
  const [comm, exe] = pick(COMMS);
  const pid = 1000 + Math.floor(random() * 60000);
  const roll = random();
  // 2% procfs mem opens (the findings), 8% other event names, the rest ordinary opens.
  const memOpen = roll < 0.02;
  const name = roll > 0.92 ? pick(['openat', 'sched_process_exec', 'close']) : 'security_file_open';
  const path = memOpen
    ? `/proc/${pid + 7}/${random() < 0.3 ? `task/${pid + 9}/` : ''}mem`
    : pick(ORDINARY_PATHS);
  const flags = random() < 0.5 ? pick(FLAG_STRINGS) : pick([32768, 524288, 557058, 33345, 1]);
  const ctime = 1732600000000000000n + BigInt(Math.floor(random() * 1e15));
  // Fields in trace.Event's declaration order, as Tracee writes them; bigint for 64-bit values.
  return {
    timestamp,
    threadStartTime: timestamp - 123456789n,
    processorId: i % 8,
    processId: pid,
    cgroupId: 10000 + (i % 500),
    threadId: pid,
    parentProcessId: pid - 3,
    hostProcessId: pid,
    hostThreadId: pid,
    hostParentProcessId: pid - 3,
    userId: i % 3 === 0 ? 0 : 1000,
    mountNamespace: 4026531841,
    pidNamespace: 4026531836,
    processName: comm,
    executable: { path: exe },
    hostName: 'bench-host',
    containerId: '',
    container: {},
    kubernetes: {},
    eventId: '732',
    eventName: name,
    matchedPolicies: [''],
    argsNum: 6,
    returnValue: 0,
    syscall: 'openat',
    stackAddresses: null,
    contextFlags: { containerStarted: false, isCompat: false },
    threadEntityId: (i * 2654435761) >>> 0,
    processEntityId: (i * 2246822519) >>> 0,
    parentEntityId: (i * 3266489917) >>> 0,
    args: [
      { name: 'pathname', type: 'const char*', value: path },
      { name: 'flags', type: typeof flags === 'string' ? 'string' : 'int', value: flags },
      { name: 'dev', type: 'dev_t', value: memOpen ? 22 : 66306 },
      { name: 'inode', type: 'unsigned long', value: 100000 + i },
      { name: 'ctime', type: 'unsigned long', value: ctime },
      { name: 'syscall_pathname', type: 'const char*', value: path },
    ],
  };
}

/**
 * The three layouts the bench compares: Tracee's own (compact, declaration order); the same
 * with a space after every `,` and `:` (Python's json.dumps default, many log shippers); and
 * compact with every object's keys sorted (jq -S, json.dumps(sort_keys=True)).
 */
const LAYOUTS = {
  compact: { separator: ',', colon: ':', sorted: false },
  spaced: { separator: ', ', colon: ': ', sorted: false },
  reordered: { separator: ',', colon: ':', sorted: true },
};

/** JSON text of a value in one layout; bigint as its exact digits. */
function stringify(value, layout) {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value))
    return `[${value.map((item) => stringify(item, layout)).join(layout.separator)}]`;
  const keys = Object.keys(value);
  if (layout.sorted) keys.sort();
  const fields = keys.map(
    (k) => `${JSON.stringify(k)}${layout.colon}${stringify(value[k], layout)}`,
  );
  return `{${fields.join(layout.separator)}}`;
}

/** Writes the same events in each layout, one file each; returns their sizes in bytes. */
function generate(files) {
  const events = [];
  let timestamp = 1732675200000000000n;
  for (let i = 0; i < eventCount; i++) {
    timestamp += BigInt(1000 + Math.floor(random() * 50000));
    events.push(eventObject(i, timestamp));
  }
  const sizes = {};
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    const text = `${events.map((event) => stringify(event, layout)).join('\n')}\n`;
    writeFileSync(files[name], text);
    sizes[name] = Buffer.byteLength(text);
  }
  return sizes;
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

// CPU time (user + system of this process) as well as wall time: on a shared machine other
// processes stretch wall time at random, while the CPU time a pass consumes stays put.
async function timed(fn) {
  const wallStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const result = await fn();
  const cpu = process.cpuUsage(cpuStart);
  const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { ...result, perWallSecond: result.lines / wall, perCpuSecond: result.lines / cpuSeconds };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Cost of each stage, on lines already in memory: the fast reader that replay uses for
// security_file_open lines, and the general path (JSON.parse + validation + exact 64-bit
// recovery) that takes the others. The "small numbers" copy has every 16+ digit
// integer shortened, so the general path has nothing to recover there.
function measureStages(file) {
  const text = readFileSync(file, 'latin1');
  const lines = text.split('\n', 20_000);
  const small = text.replace(/(:\s*)(\d{3})\d{13,}(\d{3})/g, '$1$2$3').split('\n', 20_000);
  const engine = new SignatureEngine();
  let sink = 0;
  engine.on('finding', (finding) => {
    sink += formatFindingJson(finding).length;
  });
  const cpuNs = (input, fn) => {
    const samples = [];
    for (let round = 0; round < 6; round++) {
      const start = process.cpuUsage();
      for (let i = 0; i < input.length; i++) fn(input[i], i + 1);
      const used = process.cpuUsage(start);
      if (round > 0) samples.push(((used.user + used.system) * 1000) / input.length);
    }
    return Math.round(median(samples));
  };
  const parseNs = cpuNs(lines, (line) => JSON.parse(line));
  const eventNs = cpuNs(lines, (line, n) => parseEventLine(line, n));
  const generalNs = cpuNs(lines, (line, n) => parseEventLineGeneral(line, n));
  const smallParseNs = cpuNs(small, (line) => JSON.parse(line));
  const smallGeneralNs = cpuNs(small, (line, n) => parseEventLineGeneral(line, n));
  const pipelineNs = cpuNs(lines, (line, n) => {
    const result = parseEventLine(line, n);
    if (result.ok) engine.dispatch(result.event);
  });
  if (sink < 0) throw new Error('unreachable');
  return [
    { stage: 'JSON.parse (the bare loop)', ns: parseNs },
    { stage: 'parseEventLine (layout reader; other events: general path)', ns: eventNs },
    { stage: 'general path: JSON.parse + validation + exact 64-bit', ns: generalNs },
    { stage: '  of which validation and model', ns: smallGeneralNs - smallParseNs },
    {
      stage: '  of which exact 64-bit recovery',
      ns: generalNs - parseNs - (smallGeneralNs - smallParseNs),
    },
    { stage: 'engine dispatch + formatting findings', ns: pipelineNs - eventNs },
    { stage: 'whole pipeline without I/O', ns: pipelineNs },
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'procmem-guard-bench-'));
try {
  const files = Object.fromEntries(
    Object.keys(LAYOUTS).map((name) => [name, join(dir, `events-${name}.jsonl`)]),
  );
  const fileBytes = generate(files);
  // Per layout: the bare loop and replay over the same file. Tracee's detection-event
  // output is measured on the compact layout only (formatting does not depend on layout).
  const variants = [];
  for (const layout of Object.keys(LAYOUTS)) {
    variants.push({ layout, name: 'bare', run: () => bareParse(files[layout]) });
    variants.push({
      layout,
      name: 'replay json',
      run: () => replayPipeline(files[layout], 'json'),
    });
    if (layout === 'compact') {
      variants.push({
        layout,
        name: 'replay tracee',
        run: () => replayPipeline(files[layout], 'tracee'),
      });
    }
  }
  // One warm-up pass each so that every variant runs optimised code.
  for (const variant of variants) await variant.run();
  const samples = new Map(variants.map((v) => [v, { cpu: [], wall: [], costRatio: [] }]));
  let findings = 0;
  for (let round = 0; round < rounds; round++) {
    // Interleave: per layout bare, then replay, round after round, so drift in machine load
    // hits both sides; the ratio is taken against the bare run just before.
    let bare;
    for (const variant of variants) {
      const result = await timed(variant.run);
      const s = samples.get(variant);
      s.cpu.push(result.perCpuSecond);
      s.wall.push(result.perWallSecond);
      if (variant.name === 'bare') bare = result;
      else {
        findings = result.findings;
        // CPU per event of replay over CPU per event of the bare loop: the issue's measure.
        s.costRatio.push(bare.perCpuSecond / result.perCpuSecond);
      }
    }
  }
  const rows = variants.map((variant) => {
    const s = samples.get(variant);
    return {
      layout: variant.layout,
      variant: variant.name,
      'events/CPU s median': Math.round(median(s.cpu)),
      'events/CPU s min': Math.round(Math.min(...s.cpu)),
      'events/CPU s max': Math.round(Math.max(...s.cpu)),
      'events/wall s median': Math.round(median(s.wall)),
      'CPU vs bare (median)': variant.name === 'bare' ? 1 : Number(median(s.costRatio).toFixed(3)),
    };
  });
  console.log(
    `replay bench: ${eventCount} events per layout (compact ${(fileBytes.compact / 1e6).toFixed(1)} MB, ${findings} findings), ${rounds} rounds, node ${process.version}, ${cpus()[0]?.model} x${cpus().length}, load ${loadavg()[0].toFixed(2)}`,
  );
  console.table(rows);
  const stages = Object.fromEntries(
    Object.entries(files).map(([layout, file]) => [layout, measureStages(file)]),
  );
  console.log('where the time goes (CPU ns per event, lines already in memory, median of 5):');
  console.table(
    stages.compact.map((row, i) => ({
      stage: row.stage,
      ...Object.fromEntries(Object.entries(stages).map(([layout, rs]) => [layout, rs[i].ns])),
    })),
  );
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
    goal: 'replay CPU per event <= 1.25 x the bare JSON.parse loop, every layout',
    variants: rows,
    costRatios: Object.fromEntries(
      variants
        .filter((v) => v.name !== 'bare')
        .map((v) => [
          `${v.layout} ${v.name}`,
          samples.get(v).costRatio.map((x) => Number(x.toFixed(3))),
        ]),
    ),
    stagesNsPerEvent: stages,
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
} finally {
  // BENCH_KEEP=1 keeps the generated files, e.g. for `node --cpu-prof` runs over them.
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
