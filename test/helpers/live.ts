// Helpers for the live tests: real processes, real /proc opens, a real watcher.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import type { SecurityFileOpenEvent } from '../../src/events/index.js';
import type { Finding } from '../../src/signatures/signature.js';
import type { LostReport } from '../../src/watcher/watcher.js';
import {
  type BackendName,
  ProcMemWatcher,
  type ProcMemWatcherOptions,
} from '../../src/watcher/watcher.js';
import { track } from './children.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const isRoot = process.geteuid?.() === 0;

/**
 * The opt-in for tests that change host-wide state: the audit backend's (it adds audit rules,
 * may turn audit on, takes the audit daemon role and sets the backlog, writes
 * /run/procmem-guard), starting auditd, changing a sysctl. They restore what they change, but
 * a contributor running `npm test` as root on their own machine has to ask for them; CI sets
 * it (.ci/run) and test/ci.test.ts checks that it does. What vanishes with the test process
 * (fanotify marks, BPF programs) is not host state.
 */
export const HOST_STATE_ENV = 'PMG_TEST_HOST_STATE';
export const hostStateOptedIn = process.env[HOST_STATE_ENV] === '1';

/** Whether a live test of this backend changes host-wide state (see HOST_STATE_ENV). */
export const changesHostState = (backend: string): boolean => backend === 'audit';

/** Whether a live test may run here: as root, and, if it changes host state, opted in. */
export const runsHere = (hostState = false): boolean => isRoot && (!hostState || hostStateOptedIn);

/** The test's name, with the reason it is skipped here when it is (vitest shows the name). */
export function liveName(name: string, hostState = false): string {
  if (!isRoot) return `${name} [skipped: needs root]`;
  if (hostState && !hostStateOptedIn)
    return `${name} [skipped: changes host state (audit configuration or a sysctl); set ${HOST_STATE_ENV}=1 to run it]`;
  return name;
}

/** A per-backend test name: '%s' in a string is the backend. */
type BackendTestName<B> = string | ((backend: B) => string);
const nameFor = <B extends string>(name: BackendTestName<B>, backend: B) =>
  typeof name === 'string' ? name.replace('%s', backend) : name(backend);

/** One describe() per backend, each skipped (saying why) where it may not run. */
export function describeBackends<B extends string>(
  backends: readonly B[],
  name: BackendTestName<B>,
  body: (backend: B) => void,
): void {
  for (const backend of backends) {
    const hostState = changesHostState(backend);
    describe.skipIf(!runsHere(hostState))(liveName(nameFor(name, backend), hostState), () =>
      body(backend),
    );
  }
}

/** One it() per backend, each skipped (saying why) where it may not run. */
export function itBackends<B extends string>(
  backends: readonly B[],
  name: BackendTestName<B>,
  fn: (backend: B) => Promise<void> | void,
  timeout?: number,
): void {
  for (const backend of backends) {
    const hostState = changesHostState(backend);
    it.skipIf(!runsHere(hostState))(
      liveName(nameFor(name, backend), hostState),
      () => fn(backend),
      timeout,
    );
  }
}

/**
 * Compiles a C helper into a temporary directory and returns its path. The source is `source`
 * (default `name`) .c in test/helpers, test/native/fixtures or bench/c; compiling one source
 * under several names gives processes with different comms. The directory is named by a hash
 * of the source and flags, so the test files that use one helper (open_mem: five) compile it
 * once per run; the binary is renamed into place, so a worker never runs a half-written one.
 */
export function cHelper(name: string, opts: { source?: string; flags?: string[] } = {}): string {
  const file = `${opts.source ?? name}.c`;
  const src = [
    join(here, file),
    join(root, 'test', 'native', 'fixtures', file),
    join(root, 'bench', 'c', file),
  ].find(existsSync);
  if (!src) throw new Error(`no C source ${file} for helper ${name}`);
  const flags = ['-O2', '-Wall', '-Wextra', ...(opts.flags ?? [])];
  const key = createHash('sha256')
    .update(readFileSync(src))
    .update(JSON.stringify(flags))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), 'procmem-guard-test-bin', key);
  for (const d of [dirname(dir), dir]) ownDirectory(d);
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync('cc', [...flags, '-o', tmp, src]);
  renameSync(tmp, out);
  return out;
}

/**
 * Makes `path` a directory (0755) or checks the one there: a directory, not a link, ours, and
 * writable by no one else. What is in it is then ours too: /tmp is shared, and the tests run
 * what cHelper leaves there as root.
 */
function ownDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (!st.isDirectory() || st.uid !== process.geteuid?.() || st.mode & 0o022)
    throw new Error(`${path} is not a directory of ours that only we may write: remove it`);
}

/** Whether `cmd` is on PATH. */
export const hasCommand = (cmd: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The real path of `cmd` as PATH finds it (what /proc/<pid>/exe shows of a process running it). */
export const commandPath = (cmd: string): string =>
  realpathSync(execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim());

export interface Collected {
  watcher: ProcMemWatcher;
  events: SecurityFileOpenEvent[];
  findings: Finding[];
  lost: LostReport[];
  errors: Error[];
}

export async function startWatcher(
  backend: BackendName,
  options: Omit<ProcMemWatcherOptions, 'backend'> = {},
): Promise<Collected> {
  const watcher = new ProcMemWatcher({ ...options, backend });
  const c: Collected = { watcher, events: [], findings: [], lost: [], errors: [] };
  watcher.on('event', (e) => c.events.push(e));
  watcher.on('finding', (f) => c.findings.push(f));
  watcher.on('lost', (l) => c.lost.push(l));
  watcher.on('error', (e) => c.errors.push(e));
  await watcher.start();
  return c;
}

/**
 * Polls until `pick` returns (or resolves to) something, or fails after `ms` with `what` in
 * the message.
 */
export async function waitFor<T>(
  what: string,
  pick: () => T | undefined | Promise<T | undefined>,
  ms = 5000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pick();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A shell loop for a namespace's first program: each time `<dir>/probe` appears it removes it
 * and opens `memPath` with `head` (comm "head"); it exits the loop when `<dir>/go` appears.
 * With {@link probeUntilSeen} it is the barrier for "this namespace's procfs is covered":
 * a count of covered instances can grow because of another test's namespace.
 */
export function nsProbeLoop(dir: string, memPath: string): string {
  return `while [ ! -e ${dir}/go ]; do if [ -e ${dir}/probe ]; then rm -f ${dir}/probe; head -c0 ${memPath} 2>/dev/null; fi; sleep 0.01; done`;
}

/**
 * A shell loop (for `sh -c` inside a namespace) that waits until `dir/done` exists, at most
 * about 30 s: it keeps the target of a mem open alive until the test has seen the open.
 * fanotify cannot report a read-only open of a process that exited before the event was read
 * (docs/fanotify-capture.md), so a target that exits at once makes such a test racy.
 */
export function nsHoldLoop(dir: string): string {
  return `i=0; while [ ! -e ${dir}/done ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done`;
}

/** Asks the loop of {@link nsProbeLoop} for probes until `seen()` reports one, then says go. */
export async function probeUntilSeen(dir: string, seen: () => boolean, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!seen()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for a namespace probe`);
    writeFileSync(join(dir, 'probe'), '');
    // The loop polls every 10 ms; half a second covers a loaded machine before asking again.
    const next = Date.now() + 500;
    while (!seen() && Date.now() < next) await new Promise((r) => setTimeout(r, 10));
  }
  writeFileSync(join(dir, 'go'), '');
}

/**
 * The barrier before asserting that something was NOT reported: a fresh process opens
 * `memPath` and exits; once its event has arrived and the backend holds no record back for its
 * flags (fanotify's `flags_waiting`), every open made by processes that exited before it has
 * been delivered (the kernel queues them in order).
 */
export async function captureBarrier(
  c: Collected,
  openMem: string,
  memPath: string,
): Promise<void> {
  const marker = await run(openMem, [memPath, 'r', '0']);
  await waitFor('the barrier open', () => c.events.some((e) => e.hostProcessId === marker.pid));
  await waitFor('no record waiting for its flags', () => !c.watcher.stats().native.flags_waiting);
}

/** The unprivileged user tests run processes as (uid and gid for spawn options). */
export const NOBODY = { uid: 65534, gid: 65534 };

/** A long-lived target process whose memory the tests open (as `owner`'s uid and gid if given). */
export function spawnTarget(owner?: { uid: number; gid: number }): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['120'], { stdio: 'ignore', ...owner });
  if (!child.pid) throw new Error('could not start the sleep target');
  return child as ChildProcess & { pid: number };
}

/**
 * spawnSync's result without blocking this worker: a synchronous call of a minute or more (a
 * build, a long child) makes vitest's worker-to-runner calls time out ("Timeout calling
 * onTaskUpdate", 60 s). Kills the child with SIGKILL after `timeout` ms (status null then).
 */
export function spawnToEnd(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { child, out } = spawnCollected(cmd, args, opts.env, opts.cwd);
    const timer = opts.timeout ? setTimeout(() => child.kill('SIGKILL'), opts.timeout) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, ...out });
    });
  });
}

/** A tracked child whose stdout and stderr are collected as they come. */
function spawnCollected(cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd }));
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  return { child, out };
}

/** Runs a command to its end, however it ends (a signal too): pid, code, signal, output. */
export function runToExit(
  cmd: string,
  args: string[],
): Promise<{
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}> {
  return new Promise((resolve, reject) => {
    const { child, out } = spawnCollected(cmd, args);
    child.on('error', reject);
    // 'close': the process is gone and its output has been read to the end.
    child.on('close', (code, signal) =>
      resolve({ pid: child.pid as number, code, signal, ...out }),
    );
  });
}

/** The host's BPF programs named like ours (bpftool, when installed: it sees every process's). */
export function ourBpfPrograms(): string[] {
  const r = spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return [];
  const progs = JSON.parse(r.stdout) as { id: number; name?: string }[];
  return progs.filter((p) => p.name?.startsWith('pmg_')).map((p) => `${p.id}:${p.name}`);
}

/** Runs a command to completion; returns its pid and stdout. */
export function run(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ pid: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const { child, out } = spawnCollected(cmd, args, env);
    child.on('error', reject);
    // 'exit' can come before the last of the output has been read (seen under load: a helper's
    // "res=3" missing): settle once stdout has ended too, or 2 s after the exit if a background
    // grandchild still holds the pipe.
    const stdoutEnded = new Promise<void>((r) => child.stdout.on('close', r));
    child.on('exit', (code) => {
      const settle = () => {
        if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out.stderr}`));
        else resolve({ pid: child.pid as number, stdout: out.stdout, code });
      };
      Promise.race([stdoutEnded, sleep(2000)]).then(settle);
    });
  });
}

/**
 * What a capture owns in this process (or in process `pid`), for leak checks: fds by kind
 * (fanotify groups, eventfds, netlink sockets: the only kinds a capture opens) and the ids of
 * its named threads. Counting all fds or all threads would also count what other tests'
 * children and libuv open and close meanwhile.
 */
export function captureResources(pid: number | 'self' = 'self'): {
  fanotify: number;
  eventfd: number;
  netlink: number;
  /** fds whose fdinfo names a BPF program, map or link (prog_id, map_id, link_id). */
  bpf: number;
  epoll: number;
  threads: string[];
} {
  const netlinkInodes = new Set(
    readFileSync(`/proc/${pid}/net/netlink`, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[9])
      .filter(Boolean),
  );
  const out = { fanotify: 0, eventfd: 0, netlink: 0, bpf: 0, epoll: 0, threads: [] as string[] };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the directory fd of readdir itself)
    }
    if (target === 'anon_inode:[fanotify]') out.fanotify++;
    else if (target === 'anon_inode:[eventfd]') out.eventfd++;
    else if (target === 'anon_inode:[eventpoll]') out.epoll++;
    else if (netlinkInodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) out.netlink++;
    if (target.startsWith('anon_inode:bpf')) {
      try {
        if (/^(prog_id|map_id|link_id):/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')))
          out.bpf++;
      } catch {
        // closed meanwhile
      }
    }
  }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      if (comm.startsWith('pmg-')) out.threads.push(`${tid}:${comm}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export const signatureIds = (fs: Finding[]) => [...new Set(fs.map((f) => f.sigMetadata.ID))].sort();
