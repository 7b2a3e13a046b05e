#!/usr/bin/env node
// What a policy costs per event: the signature engine's CPU time per live-like event (every
// event a mem open, so every event gives a finding) with no policy, with 100 exceptions
// loaded, with dedup, and with both; each a ratio against the no-policy engine measured in the
// same round. Imports the built package (run `npm run build` first).
//
//   node bench/policy.mjs [--events N] [--rounds R]
//
// The 100 exceptions are shaped like real ones: 80 with literal opener executables (the
// matcher indexes them by path) and 20 with globs, comm and uid (tested on every finding).
// "no match" streams match none of them (every candidate is tested and fails); "10% match"
// has one event in ten suppressed by one of them; "replay mix" is a Tracee stream where 2% of
// the opens are mem files (the policy only runs on findings). Prints a table and writes
// bench/results/policy.json.

import { parseArgs } from 'node:util';
import { SignatureEngine } from '../dist/engine/index.js';
import { createSecurityFileOpenEvent } from '../dist/events/index.js';
import { parsePolicy } from '../dist/policy/index.js';
import { machine, median, printTable, seededRandom, writeResult } from './lib.mjs';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '7' },
  },
});
const eventCount = Number(values.events);
const rounds = Number(values.rounds);

const { random, pick } = seededRandom(0x2545f491);

const OPENERS = [
  ['dd', '/usr/bin/dd'],
  ['cat', '/usr/bin/cat'],
  ['python3', '/usr/bin/python3.11'],
  ['node', '/usr/bin/node'],
  ['gdb', '/usr/bin/gdb'],
  ['bash', '/usr/bin/bash'],
  ['java', '/usr/lib/jvm/java-17-openjdk-amd64/bin/java'],
  ['agent', '/opt/vendor/agent/bin/agent'],
];
const TARGETS = [
  ['sshd', '/usr/sbin/sshd'],
  ['sleep', '/usr/bin/sleep'],
  ['postgres', '/usr/lib/postgresql/15/bin/postgres'],
  ['python3', '/usr/bin/python3.11'],
];
const RELATIONS = ['unrelated', 'ancestor', 'descendant', 'self'];

/** A live-like mem open; `matching` makes its opener one of the policy's literal exes. */
function memOpen(i, matching) {
  const [comm, exe] = matching ? ['tool7', '/opt/tool7/bin/tool7'] : pick(OPENERS);
  const [tcomm, texe] = matching ? TARGETS[0] : pick(TARGETS);
  const pid = 1000 + Math.floor(random() * 60000);
  const tpid = 1000 + Math.floor(random() * 60000);
  return createSecurityFileOpenEvent({
    timestamp: 1_732_675_200_000_000_000n + BigInt(i) * 1_000_000n,
    processId: pid,
    processName: comm,
    executable: { path: exe },
    userId: random() < 0.5 ? 0 : 1000,
    pathname: `/proc/${tpid}/mem`,
    flags: random() < 0.8 ? 0 : 2,
    procmemGuard: {
      procfsMem: true,
      targetPid: tpid,
      targetTid: tpid,
      flagsSource: 'kernel',
      backend: 'ebpf',
      target: {
        pid: tpid,
        tid: tpid,
        comm: tcomm,
        exe: texe,
        uid: 0,
        relation: matching ? 'ancestor' : pick(RELATIONS),
      },
    },
  });
}

function hundredExceptions() {
  const lines = ['version: 1', 'exceptions:'];
  for (let i = 0; i < 80; i++)
    lines.push(
      `  - name: literal-${i}`,
      `    opener: { exe: [/opt/tool${i}/bin/tool${i}, /usr/local/bin/tool${i}], container: host }`,
      `    target: { exe: ["/usr/bin/python3*", /usr/sbin/sshd] }`,
      '    relation: [ancestor]',
      '    action: suppress',
    );
  for (let i = 80; i < 100; i++)
    lines.push(
      `  - name: glob-${i}`,
      `    opener: { exe: ["/opt/glob${i}/*/tool", "/srv/**/tool${i}"], comm: [tool${i}], uid: [1000] }`,
      '    access: [read]',
      `    action: ${i % 2 ? 'annotate' : 'suppress'}`,
    );
  return lines.join('\n');
}

const exceptions100 = parsePolicy(hundredExceptions(), 'bench-100.yaml');
const dedupOnly = parsePolicy('version: 1\ndedup: { window: 60s }\n', 'bench-dedup.yaml');
const both = parsePolicy(
  hundredExceptions().replace('version: 1', 'version: 1\ndedup: { window: 60s }'),
  'bench-both.yaml',
);

/** An ordinary open (not a mem file): no signature fires, so the policy never runs. */
function ordinaryOpen(i) {
  const [comm, exe] = pick(OPENERS);
  return createSecurityFileOpenEvent({
    timestamp: 1_732_675_200_000_000_000n + BigInt(i) * 1_000_000n,
    processId: 1000 + (i % 60000),
    processName: comm,
    executable: { path: exe },
    pathname: pick(['/etc/passwd', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/proc/self/stat']),
    flags: 0,
  });
}

const streams = {
  'no match': Array.from({ length: eventCount }, (_, i) => memOpen(i, false)),
  '10% match': Array.from({ length: eventCount }, (_, i) => memOpen(i, i % 10 === 0)),
  // A Tracee stream as replay sees it (bench/replay.mjs): 2% of the opens are mem files.
  'replay mix (2% mem)': Array.from({ length: eventCount }, (_, i) =>
    i % 50 === 0 ? memOpen(i, false) : ordinaryOpen(i),
  ),
};

const variants = [
  { name: 'no policy', policy: null },
  { name: '100 exceptions', policy: exceptions100 },
  { name: 'dedup 60s', policy: dedupOnly },
  { name: '100 exceptions + dedup', policy: both },
];

/** CPU ns per event for one pass of a fresh engine over `events`. */
function pass(policy, events) {
  const engine = new SignatureEngine({ policy });
  let delivered = 0;
  engine.on('finding', () => {
    delivered++;
  });
  const start = process.cpuUsage();
  for (let i = 0; i < events.length; i++) engine.dispatch(events[i]);
  const used = process.cpuUsage(start);
  return { ns: ((used.user + used.system) * 1000) / events.length, delivered };
}

const rows = [];
const result = { bench: 'policy', events: eventCount, rounds, streams: {} };
for (const [streamName, events] of Object.entries(streams)) {
  // Warm-up: every variant once, so each runs optimised code.
  for (const v of variants) pass(v.policy, events);
  const samples = new Map(variants.map((v) => [v.name, { ns: [], ratio: [], delivered: 0 }]));
  for (let round = 0; round < rounds; round++) {
    // Interleaved, the baseline first in each round: load drift hits every variant alike.
    let base = 0;
    for (const v of variants) {
      const { ns, delivered } = pass(v.policy, events);
      const s = samples.get(v.name);
      s.ns.push(ns);
      s.delivered = delivered;
      if (v.policy === null) base = ns;
      s.ratio.push(ns / base);
    }
  }
  result.streams[streamName] = {};
  for (const v of variants) {
    const s = samples.get(v.name);
    const row = {
      stream: streamName,
      variant: v.name,
      'CPU ns/event median': Math.round(median(s.ns)),
      min: Math.round(Math.min(...s.ns)),
      max: Math.round(Math.max(...s.ns)),
      'vs no policy (median ratio)': Number(median(s.ratio).toFixed(3)),
      'findings delivered': s.delivered,
    };
    rows.push(row);
    result.streams[streamName][v.name] = {
      ...row,
      ratios: s.ratio.map((r) => Number(r.toFixed(3))),
    };
  }
}
console.log('machine:', JSON.stringify(machine()));
printTable(`policy bench: ${eventCount} mem-open events per pass, ${rounds} rounds`, rows);
writeResult('policy', result);
