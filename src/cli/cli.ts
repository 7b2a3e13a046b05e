// procmem-guard's top level: --help, --version, and dispatch to the command table.

import { readFileSync } from 'node:fs';
import { type CliIo, type Command, UsageError } from './command.js';
import { COMMANDS } from './commands.js';
import { EXIT_OK, EXIT_USAGE } from './exit-codes.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: procmem-guard <command> [options]',
    '',
    "Detects reads and writes of other processes' memory through procfs mem files",
    '(MITRE T1003.007, T1055.009), with Tracee-compatible events and findings.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "procmem-guard <command> --help" for the options of a command.',
  ].join('\n');
}

export async function main(
  argv: string[],
  io: CliIo,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === args[0]) : undefined;
    io.stdout.write(`${topic ? topic.help : overview(commands)}\n`);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`procmem-guard: unknown command "${name}"\n\n${overview(commands)}\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    // parseArgs reports unknown options and missing values with these codes.
    const code = (err as { code?: string }).code;
    if (err instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS_')) {
      io.stderr.write(
        `procmem-guard ${name}: ${(err as Error).message}\nRun "procmem-guard ${name} --help" for usage.\n`,
      );
      return EXIT_USAGE;
    }
    throw err;
  }
}
