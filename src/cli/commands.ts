// The command table. To add a command, write src/cli/<name>.ts exporting a Command and list
// it here; `procmem-guard --help` and dispatch pick it up.

import type { Command } from './command.js';
import { doctorCommand } from './doctor.js';
import { policyCommand } from './policy.js';
import { replayCommand } from './replay.js';
import { watchCommand } from './watch.js';

export const COMMANDS: readonly Command[] = [
  watchCommand,
  doctorCommand,
  replayCommand,
  policyCommand,
];
