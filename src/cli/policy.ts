// procmem-guard policy check FILE

import { parseArgs } from 'node:util';
import { describePolicy } from '../policy/describe.js';
import { loadPolicy, requireSignatures } from '../policy/load.js';
import { type Policy, PolicyError } from '../policy/types.js';
import { builtinSignatures } from '../signatures/index.js';
import { type CliIo, type Command, UsageError } from './command.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

const HELP = `Usage: procmem-guard policy check FILE

Checks a policy file (exceptions and dedup, for watch --policy and replay --policy) and prints
what each exception would match: its signatures and access, its opener and target
conditions, whether it needs information replayed Tracee events do not carry, and which of
its conditions a kernel-side decision could use. Nothing is suppressed unless a policy says so.

Exit status: 0 when the file is valid; 2 when it is not, with FILE:LINE:COLUMN: FIELD: REASON
on standard error (or on a usage error).`;

export const policyCommand: Command = {
  name: 'policy',
  summary: 'check a policy file (exceptions, dedup) and say what each exception matches',
  help: HELP,
  run: runPolicy,
};

/** Reads a policy file for the CLI: the built-in signatures are the ones that run. */
function loadCliPolicy(file: string): Policy {
  const policy = loadPolicy(file);
  requireSignatures(
    policy,
    builtinSignatures().map((s) => s.getMetadata().ID),
  );
  return policy;
}

/** The value of --policy (watch, replay), read and checked: a bad file is a usage error. */
export function policyOption(file: string): Policy {
  try {
    return loadCliPolicy(file);
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(err.message);
    throw err;
  }
}

async function runPolicy(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT_OK;
  }
  const [verb, file, ...rest] = positionals;
  if (verb !== 'check')
    throw new UsageError(
      verb === undefined ? 'expected "check FILE"' : `unknown subcommand "${verb}"; expected check`,
    );
  if (file === undefined) throw new UsageError('policy check: expected a FILE');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  let policy: Policy;
  try {
    policy = loadCliPolicy(file);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    io.stderr.write(`procmem-guard policy: ${err.message}\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(`${describePolicy(policy)}\n`);
  return EXIT_OK;
}
