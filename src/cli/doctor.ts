// procmem-guard doctor [--backend auto|ebpf|fanotify|audit] [--timeout MS] [--policy FILE]

import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadNative, nativeAddonPath } from '../native.js';
import {
  effectiveCapabilities,
  missingCapabilities,
  REQUIRED_CAPABILITIES,
} from '../service/capabilities.js';
import type { Finding } from '../signatures/signature.js';
import { ebpfAttachPoints } from '../watcher/watcher.js';
import { backendOption, type CliIo, type Command, UsageError } from './command.js';
import { guardModeLine, guardPolicyLine, startDoctorCapture } from './doctor-guard.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { policyOption } from './policy.js';

const HELP = `Usage: procmem-guard doctor [--backend auto|ebpf|fanotify|audit] [--timeout MS]
                            [--policy FILE]

Reports what this host offers for capture (privileges, kernel, fanotify features, the procfs
instances that would be watched), then runs a live self-test: a child process reads another
child's /proc/<pid>/mem and the TRC-1023 finding must arrive. Both children are this Node.js
binary (by its absolute path, with an empty environment): doctor runs as root and never runs
a program found through PATH.

Guard mode (watch --enforce): when it can start here, the self-test capture runs in its dry
run with no exceptions (nothing is killed) and the "guard mode" line says whether the kernel
decision marked the self-test open would-kill; otherwise it says why guard mode cannot run.

Options:
  -b, --backend NAME   auto (the default: ebpf, else fanotify, else audit), ebpf, fanotify or audit
      --timeout MS     how long to wait for the self-test finding (default 5000)
      --policy FILE    also say whether watch --enforce would accept this policy (every
                       exception kernel-decidable, at most 64 kernel entries)
  -h, --help           show this help

Exit status: 0 only if the self-test finding arrived (guard mode is reported, not required);
1 otherwise; 2 on a usage error or a policy file that does not parse.`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check privileges and kernel features, then run a live self-test',
  help: HELP,
  run: runDoctor,
};

async function runDoctor(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      backend: { type: 'string', short: 'b', default: 'auto' },
      timeout: { type: 'string', default: '5000' },
      policy: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const timeoutMs = Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(
      `--timeout must be a positive whole number of milliseconds, not "${values.timeout}"`,
    );
  }
  const backend = backendOption(values.backend);
  const policy = values.policy === undefined ? null : policyOption(values.policy);
  const say = (key: string, value: string) => io.stdout.write(`${key.padEnd(20)} ${value}\n`);

  let probe: ReturnType<ReturnType<typeof loadNative>['probe']>;
  try {
    probe = loadNative().probe();
  } catch (err) {
    say('native addon', `MISSING: ${(err as Error).message}`);
    return EXIT_FAILURE;
  }
  say('native addon', nativeAddonPath());
  say('kernel', probe.kernel);
  say('euid', String(probe.euid));
  // Exactly the measured set per backend (README "Operating it"), named when missing.
  const have = effectiveCapabilities();
  const checked = backend === 'auto' ? (['fanotify', 'audit'] as const) : ([backend] as const);
  for (const b of checked) {
    const missing = missingCapabilities(b, have, probe.euid);
    const needs = REQUIRED_CAPABILITIES[b]
      .filter((r) => !(r.nonRootOnly && probe.euid === 0))
      .map((r) => r.cap);
    say(
      `capabilities (${b})`,
      missing.length === 0
        ? `complete: ${needs.join(' ')}`
        : `MISSING ${missing.map((r) => `${r.cap} (${r.why})`).join('; ')}`,
    );
  }
  const fan = probe.fanotify;
  say(
    'fanotify',
    fan.available
      ? `available; FAN_REPORT_FD_ERROR ${yes(fan.reportFdError)}, FAN_REPORT_TID ${yes(fan.reportTid)}, ` +
          `filesystem marks on /proc ${yes(fan.markFilesystem)}${fan.markError ? ` (${fan.markError})` : ''}`
      : `unavailable: ${fan.error ?? 'unknown reason'}`,
  );
  say(
    'ebpf',
    probe.ebpf.built
      ? 'built in (whether the kernel loads it shows under "backend")'
      : `unavailable: ${probe.ebpf.error ?? 'unknown reason'}`,
  );
  try {
    const a = loadNative().auditStatus();
    const rules = loadNative()
      .auditListRules()
      .filter((r) => r.key === 'procmem-guard').length;
    say(
      'audit',
      `enabled ${a.enabled}${a.enabled === 2 ? ' (locked)' : ''}, daemon pid ${a.pid || 'none'}, ` +
        `backlog limit ${a.backlogLimit}, backlog wait time ${a.backlogWaitTime} ` +
        `(waited so far ${a.backlogWaitTimeActual}), lost ${a.lost}, procmem-guard rules ${rules}`,
    );
  } catch (err) {
    say('audit', `unavailable: ${(err as Error).message}`);
  }
  for (const p of probe.procfsInstances) {
    say(
      'procfs instance',
      `${p.path} (mounted at ${p.mountpoint}, dev ${p.dev}, ${p.hostPids ? 'host pids' : `pid ns ${p.pidNs}`})`,
    );
  }

  if (policy) say('guard policy', guardPolicyLine(policy));
  let capture: Awaited<ReturnType<typeof startDoctorCapture>>;
  try {
    capture = await startDoctorCapture(backend, probe, (m) => say('warning', m));
  } catch (err) {
    say('capture', `FAILED: ${(err as Error).message}`);
    say('self-test', 'FAIL: capture could not start');
    say('guard mode', 'unavailable: capture could not start');
    return EXIT_FAILURE;
  }
  const { watcher } = capture;
  const st = watcher.stats();
  say('backend', `${st.backend} (${st.backendReason})`);
  if (st.backend === 'ebpf') say('attach points', ebpfAttachPoints(st.native) || 'none');

  // The node binary by absolute path, no PATH look-up, and an empty environment (no
  // NODE_OPTIONS, no LD_PRELOAD): whatever the caller's environment holds is not run as root.
  const child = (code: string) =>
    spawn(process.execPath, ['--no-warnings', '-e', code], { stdio: 'ignore', env: {} });
  const target = child('setTimeout(() => {}, 30000)');
  const began = process.hrtime.bigint();
  let readerPid: number | undefined;
  let selfTest: Finding | undefined;
  const arrived = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    watcher.on('finding', (f) => {
      if (
        readerPid !== undefined &&
        f.event.hostProcessId === readerPid &&
        f.sigMetadata.ID === 'TRC-1023'
      ) {
        selfTest = f;
        clearTimeout(timer);
        resolve(true);
      }
    });
    const reader = child(
      `const fs = require('node:fs'); fs.closeSync(fs.openSync('/proc/${target.pid}/mem', 'r'));`,
    );
    readerPid = reader.pid;
    reader.on('error', (err) => {
      say('self-test', `could not run the reader: ${err.message}`);
      clearTimeout(timer);
      resolve(false);
    });
  });
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  target.kill();
  await watcher.stop();
  say(
    'self-test',
    arrived
      ? `PASS: TRC-1023 for the reader (pid ${readerPid}) reading /proc/${target.pid}/mem, ${ms.toFixed(1)} ms after spawn`
      : `FAIL: no finding within ${timeoutMs} ms`,
  );
  say('guard mode', guardModeLine(capture, selfTest));
  const lacking = st.backend ? missingCapabilities(st.backend, have, probe.euid) : [];
  if (arrived && lacking.length > 0) {
    say(
      'self-test',
      `FAIL: capture is incomplete without ${lacking.map((r) => r.cap).join(' ')} ` +
        "(other users' reads would be lost)",
    );
    return EXIT_FAILURE;
  }
  return arrived ? EXIT_OK : EXIT_FAILURE;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');
