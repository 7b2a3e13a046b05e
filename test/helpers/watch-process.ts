// `procmem-guard watch` as a child process for the service tests: its output, its exit, and the
// host state it must leave behind (audit rules, audit settings, the audit state file).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/native.js';
import { track } from './children.js';
import { run, waitFor } from './live.js';

export const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface WatchProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWatch(
  args: string[],
  opts: { command?: string; prefix?: string[]; nodeArgs?: string[]; stdout?: 'pipe' | number } = {},
): WatchProcess {
  const child = track(
    spawn(
      opts.command ?? process.execPath,
      [
        ...(opts.prefix ?? []),
        ...(opts.prefix ? [process.execPath] : []),
        ...(opts.nodeArgs ?? []),
        cli,
        'watch',
        ...args,
      ],
      { stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] },
    ),
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  // 'close', not 'exit': the process is gone and its stdout and stderr have been read to the
  // end (the summary on stderr can still be in the pipe at 'exit').
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('close', (code, signal) => r({ code, signal })),
  );
  return { child, out: () => out, err: () => err, exited };
}

export async function started(w: WatchProcess): Promise<void> {
  await waitFor(
    'watch to start',
    () => w.err().includes('watching with') || w.child.exitCode !== null,
    20_000,
  );
  if (!w.err().includes('watching with')) throw new Error(`watch did not start: ${w.err()}`);
}

/** dd reads `pid`'s mem; returns dd's pid. */
export async function readMem(pid: number): Promise<number> {
  return (await run('dd', [`if=/proc/${pid}/mem`, 'of=/dev/null', 'bs=1', 'count=0'])).pid;
}

/** What a watch may change on the host and must put back. */
export interface HostState {
  rules: number;
  enabled: number;
  backlogLimit: number;
  stateFile: boolean;
}

export function hostState(): HostState {
  const native = loadNative();
  const a = native.auditStatus();
  return {
    rules: native.auditListRules().filter((r) => r.key === 'procmem-guard').length,
    enabled: a.enabled,
    backlogLimit: a.backlogLimit,
    stateFile: existsSync('/run/procmem-guard/audit.state'),
  };
}

/** True once no process has `pid`. */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** A local TCP port free now, for watch --metrics (chosen here so the test knows it). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await new Promise<number>((r) =>
    probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)),
  );
  await new Promise((r) => probe.close(r));
  return port;
}
