// The fanotify backend's test of where an opener is (openerProgress, native/fanotify/
// opener_progress.h), against real processes: blocked inside an open, blocked elsewhere, running,
// gone.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { track } from '../helpers/children.js';
import { buildCxx } from '../helpers/cxx.js';
import { liveName, runsHere, waitFor } from '../helpers/live.js';

describe.skipIf(!runsHere())(liveName('openerProgress (live processes)'), () => {
  let probe = '';
  beforeAll(() => {
    probe = buildCxx([
      'test/native/cpp/opener_progress_probe.cc',
      'native/fanotify/opener_progress.cc',
      'native/fanotify/pending_flags.cc',
      'native/util/proc_files.cc',
    ]);
  });
  const ask = (pid: number, secondMs = 0) =>
    spawnSync(probe, [String(pid), String(secondMs)], { encoding: 'utf8' }).stdout.trim();
  const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

  it('inside an open (blocked opening a FIFO): not yet, however long it waits', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'pmg-fifo-')), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const opener = track(spawn('sh', ['-c', `exec 3<${fifo}`], { stdio: 'ignore' }));
    const pid = opener.pid as number;
    await waitFor('the opener to block in its open', () => {
      const s = readFileSync(`/proc/${pid}/syscall`, 'utf8');
      return s.startsWith('257 ') || s.startsWith('2 ') ? true : undefined;
    });
    expect(ask(pid, 20)).toBe('not-yet not-yet');
    writeFileSync(fifo, ''); // a writer: the open completes
    await new Promise((r) => opener.on('exit', r));
  });

  it('blocked in another syscall: past its open', () => {
    const sleeper = track(spawn('sleep', ['5'], { stdio: 'ignore' }));
    const pid = sleeper.pid as number;
    return waitFor('sleep to block', () => (state(pid) === 'S' ? true : undefined)).then(() => {
      expect(ask(pid)).toMatch(/^closed /);
      sleeper.kill();
    });
  });

  it('running: past its open once it has run a millisecond of CPU since the first look', async () => {
    const busy = track(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    const pid = busy.pid as number;
    await waitFor('the loop to run', () => (state(pid) === 'R' ? true : undefined));
    // The first look may catch it between two time slices (then it is runnable: "running").
    expect(ask(pid, 50)).toMatch(/^(not-yet|closed) closed$/);
    busy.kill();
  });

  it('gone: past its open', () => {
    const done = spawnSync('true');
    expect(ask(done.pid as number)).toBe('closed closed');
  });
});
