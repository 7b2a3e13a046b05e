import { defineConfig } from 'vitest/config';
import { NoSkipsInCi } from './test/reporters/no-skips-in-ci.js';

// Live-capture tests share kernel state (fanotify groups, audit rules): run files one at a
// time, in forked processes so the native addon gets a clean process per file.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: process.env.CI === 'true' ? ['default', new NoSkipsInCi()] : ['default'],
  },
});
