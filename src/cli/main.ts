#!/usr/bin/env node
// The procmem-guard program (package.json "bin"). The logic lives in cli.ts so tests can
// call it without a child process.

import { main } from './cli.js';
import { EXIT_INTERNAL } from './exit-codes.js';

main(process.argv.slice(2), process).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`procmem-guard: internal error: ${text}\n`);
    process.exitCode = EXIT_INTERNAL;
  },
);
