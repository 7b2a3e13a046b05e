// The audit backend's state directory is attacked too (issue 12): a symlink planted at it or in
// it, a directory someone else owns, a planted state file. None may be followed, written
// through or applied to the host. The parser and value checks are unit-tested without a kernel
// (test/native/cpp/state_file_test.cc, a row of cxx-units.test.ts); the live cases run as root
// against the real /run/procmem-guard, which each test leaves as it found it.
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native.js';
import { liveName, runsHere, waitFor } from '../helpers/live.js';
import { startHarness } from './capture-harness.js';

const DIR = '/run/procmem-guard';

describe.skipIf(!runsHere(true))(
  liveName('audit state directory under attack (live)', true),
  () => {
    let saved = '';
    beforeEach(() => {
      // Keep whatever is there now; each test builds the situation it needs.
      saved = existsSync(DIR) || lstatExists(DIR) ? `${DIR}.saved-${process.pid}` : '';
      if (saved) renameSync(DIR, saved);
    });
    afterEach(() => {
      rmSync(DIR, { recursive: true, force: true });
      if (saved) renameSync(saved, DIR);
    });
    const status = () => {
      const s = loadNative().auditStatus();
      return {
        enabled: s.enabled,
        backlogLimit: s.backlogLimit,
        backlogWaitTime: s.backlogWaitTime,
      };
    };
    const startFails = () => {
      try {
        startHarness(undefined, 'audit').stop();
      } catch (err) {
        return err as Error & { code?: string };
      }
      throw new Error('start succeeded');
    };

    it('refuses a symlink planted at the directory, and writes nothing through it', () => {
      const planted = mkdtempSync(join(tmpdir(), 'pmg-planted-'));
      symlinkSync(planted, DIR);
      const err = startFails();
      expect(err.code).toBe('STATE_UNSAFE');
      expect(err.message).toMatch(/symlink/);
      expect(readdirSync(planted)).toEqual([]);
      expect(ourRules()).toEqual([]);
    });

    it('refuses a directory someone else owns or others can write', () => {
      mkdirSync(DIR, { mode: 0o700 });
      chownSync(DIR, 65534, 65534);
      expect(startFails().message).toMatch(/owned by uid 65534/);
      chownSync(DIR, 0, 0);
      chmodSync(DIR, 0o777); // (mkdir's mode is cut by the umask)
      expect(startFails().message).toMatch(/writable by group or others/);
    });

    it('does not write through a symlink planted at the temporary or the lock file', () => {
      mkdirSync(DIR, { mode: 0o700 });
      const victim = join(mkdtempSync(join(tmpdir(), 'pmg-victim-')), 'precious');
      writeFileSync(victim, 'precious\n');
      symlinkSync(victim, join(DIR, 'audit.state.tmp'));
      const h = startHarness(undefined, 'audit');
      h.stop();
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
      symlinkSync(victim, join(DIR, 'audit.lock.planted'));
      rmSync(join(DIR, 'audit.lock'));
      renameSync(join(DIR, 'audit.lock.planted'), join(DIR, 'audit.lock'));
      expect(startFails().message).toMatch(/audit\.lock is a symlink/);
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    });

    it('applies nothing from a planted state file with values out of bounds', async () => {
      mkdirSync(DIR, { mode: 0o700 });
      const before = status();
      writeFileSync(
        join(DIR, 'audit.state'),
        'version=1\nowner_pid=1\norig_enabled=2\nset_enabled=1\norig_backlog_limit=999999999\n' +
          `set_backlog_limit=${before.backlogLimit}\nregistered_pid=0\ndaemon_at_start=0\n`,
        { mode: 0o600 },
      );
      const h = startHarness(undefined, 'audit');
      try {
        await waitFor('the warning', () =>
          h.warnings.find((w) => /ignored .*audit\.state/.test(w)),
        );
      } finally {
        h.stop();
      }
      expect(status()).toEqual(before); // neither enabled=2 nor the backlog was applied
      expect(existsSync(join(DIR, 'audit.state.invalid'))).toBe(true);
      expect(existsSync(join(DIR, 'audit.state'))).toBe(false);
    });

    it('does not follow a symlink planted at the state file', async () => {
      mkdirSync(DIR, { mode: 0o700 });
      const planted = join(mkdtempSync(join(tmpdir(), 'pmg-state-')), 'state');
      writeFileSync(planted, 'version=1\nowner_pid=1\norig_enabled=0\nset_enabled=1\n');
      symlinkSync(planted, join(DIR, 'audit.state'));
      const before = status();
      const h = startHarness(undefined, 'audit');
      try {
        await waitFor('the warning', () =>
          h.warnings.find((w) => /audit\.state: is a symlink/.test(w)),
        );
      } finally {
        h.stop();
      }
      expect(status()).toEqual(before);
      expect(readFileSync(planted, 'utf8')).toMatch(/^version=1/);
    });
  },
);

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
const ourRules = () =>
  loadNative()
    .auditListRules()
    .filter((r) => r.key === 'procmem-guard');
