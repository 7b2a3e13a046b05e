// CI (.ci/run sets CI=true) must run every test: as root, with the host-state opt-in, and with
// the tools the skippable tests look for. vitest.config.ts also fails a CI run with any skip.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { HOST_STATE_ENV, hasCommand, hostStateOptedIn, isRoot } from './helpers/live.js';

it.runIf(process.env.CI === 'true')(
  'CI runs as root, opted in to host-state tests, with every tool a test looks for',
  () => {
    expect(isRoot).toBe(true);
    expect(hostStateOptedIn, `${HOST_STATE_ENV}=1 in .ci/run`).toBe(true);
    expect(hasCommand('auditd') && hasCommand('auditctl')).toBe(true);
    expect(existsSync('/usr/bin/systemd-analyze')).toBe(true);
    expect(process.env.npm_config_node_gyp).toBeTruthy();
  },
);
