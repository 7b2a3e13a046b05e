// Replay under hostile input and hostile output (issue 12, rows 7-12): every case ends with a
// documented exit code, a bounded amount of memory and a clean terminal.

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/cli.js';
import { EXIT_CODES, EXIT_FAILURE, EXIT_IO, EXIT_OK, EXIT_USAGE } from '../src/cli/exit-codes.js';
import { createSecurityFileOpenEvent } from '../src/events/build.js';
import { parseEventLine } from '../src/events/reader.js';
import { formatEventPretty, formatFindingPretty, formatTimestamp } from '../src/output/index.js';
import { PROC_MEM_ACCESS_METADATA } from '../src/signatures/proc_mem_access.js';
import { traceeLine } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const scratch = mkdtempSync(join(tmpdir(), 'procmem-guard-abuse-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Prints the child's peak RSS (KiB) on standard error as it exits. */
const REPORT_MAX_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS="+process.resourceUsage().maxRSS+"\\n"))';

function run(args: string[], options: { stdio?: unknown[]; input?: string } = {}) {
  const result = spawnSync(process.execPath, ['--import', REPORT_MAX_RSS, cli, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.stdio === undefined ? {} : { stdio: options.stdio as never }),
  });
  const maxRss = Number(/maxRSS=(\d+)/.exec(result.stderr ?? '')?.[1]);
  const stderr = (result.stderr ?? '').replace(/maxRSS=\d+\n/, '');
  return { code: result.status, stdout: result.stdout ?? '', stderr, maxRssKiB: maxRss };
}

function file(name: string, lines: string[]): string {
  const path = join(scratch, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** main() in this process, with standard output (and input) streams the test controls. */
async function replayInProcess(
  args: string[],
  stdout: Writable,
  stdin: Readable = new PassThrough(),
) {
  let stderr = '';
  const code = await main(['replay', ...args], {
    stdin,
    stdout,
    stderr: new Writable({
      write(chunk, _encoding, callback) {
        stderr += String(chunk);
        callback();
      },
    }),
  });
  return { code, stderr };
}

const memOpen = (pid: number) => traceeLine({ processId: pid, pathname: `/proc/${pid + 1}/mem` });

describe('exit codes', () => {
  it('one table: each code once, and the README shows the same table', async () => {
    const codes = EXIT_CODES.map(([code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [code, name] of EXIT_CODES) {
      expect(readme).toMatch(new RegExp(`\\| ${code} \\| \`${name}\` \\|`));
    }
  });
});

describe('replay: row 7, a 23-digit timestamp with --format pretty', () => {
  it('is a malformed line naming the field; the rest of the file is read', () => {
    const path = file('23-digits.jsonl', [
      traceeLine({ timestamp: '12345678901234567890123' }),
      memOpen(4242),
    ]);
    const { code, stdout, stderr } = run(['replay', path, '--format', 'pretty']);
    expect(stderr).toContain(
      'procmem-guard replay: line 1: timestamp: expected an unsigned 64-bit',
    );
    expect(stderr).toContain('1 events read, 1 findings, 1 malformed lines');
    expect(stdout).toMatch(/^2024-11-27T02:40:00\.123456789Z {2}sev/);
    expect(code).toBe(EXIT_FAILURE);
  });

  it('formatTimestamp never throws, whatever the value', () => {
    expect(formatTimestamp(12345678901234567890123n)).toBe('12345678901234.567890123s');
    expect(formatTimestamp(2n ** 64n - 1n)).toBe('2554-07-21T23:34:33.709551615Z');
    expect(formatTimestamp(-5n)).toBe('-0.000000005s');
    expect(formatTimestamp(0n)).toBe('+0.000000000s');
  });
});

describe('replay: row 8, a directory and output errors', () => {
  it('a directory as FILE is a usage error (exit 2), no stack trace', () => {
    const { code, stderr } = run(['replay', scratch]);
    expect(stderr).toContain(`cannot read ${scratch}: it is a directory`);
    expect(stderr).not.toContain('    at ');
    expect(code).toBe(EXIT_USAGE);
  });

  it('a directory as standard input is a usage error too', () => {
    const fd = openSync(scratch, 'r');
    try {
      const { code, stderr } = run(['replay'], { stdio: [fd, 'pipe', 'pipe'] });
      expect(stderr).toContain('cannot read standard input: it is a directory');
      expect(code).toBe(EXIT_USAGE);
    } finally {
      closeSync(fd);
    }
  });

  it('a full disk (> /dev/full) exits 74, not 1 ("malformed lines"), with the summary', () => {
    const path = file('to-full.jsonl', [memOpen(10), memOpen(11)]);
    const fd = openSync('/dev/full', 'w');
    try {
      const { code, stderr } = run(['replay', path], { stdio: ['ignore', fd, 'pipe'] });
      expect(stderr).toContain('procmem-guard replay: 2 events read');
      expect(stderr).toContain('cannot write the output: ENOSPC');
      expect(stderr).not.toContain('    at ');
      expect(code).toBe(EXIT_IO);
    } finally {
      closeSync(fd);
    }
  });

  it('a reader that goes away (EPIPE) ends replay quietly: exit 0, summary on stderr', async () => {
    const path = file(
      'to-closed-pipe.jsonl',
      Array.from({ length: 5000 }, (_, i) => memOpen(i)),
    );
    let writes = 0;
    const closedPipe = new Writable({
      write(_chunk, _encoding, callback) {
        writes++;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const { code, stderr } = await replayInProcess([path], closedPipe);
    expect(stderr).toMatch(
      /events read, \d+ findings, 0 malformed lines \(output closed early\)\n$/,
    );
    expect(writes).toBe(1);
    expect(code).toBe(EXIT_OK);
  });

  it('any other output error (EIO) exits 74 and stops reading', async () => {
    const path = file(
      'to-eio.jsonl',
      Array.from({ length: 5000 }, (_, i) => memOpen(i)),
    );
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EIO'), { code: 'EIO' }));
      },
    });
    const { code, stderr } = await replayInProcess([path], broken);
    expect(stderr).toContain('cannot write the output: write EIO');
    expect(code).toBe(EXIT_IO);
  });
});

describe('replay: input errors', () => {
  it('an input that fails while being read (EIO) exits 74 with a message, no stack trace', async () => {
    const failing = new Readable({
      read() {
        this.push(`${memOpen(1)}\n`);
        this.destroy(Object.assign(new Error('read EIO'), { code: 'EIO' }));
      },
    });
    const sink = new PassThrough();
    sink.resume();
    const { code, stderr } = await replayInProcess([], sink, failing);
    expect(stderr).toBe('procmem-guard replay: cannot read standard input: read EIO\n');
    expect(code).toBe(EXIT_IO);
  });
});

describe('replay: row 9, a slow reader', () => {
  it('waits for drain without adding a listener per wait', async () => {
    const path = file(
      'slow-reader.jsonl',
      Array.from({ length: 20_000 }, (_, i) => memOpen(i)),
    );
    let maxErrorListeners = 0;
    let maxDrainListeners = 0;
    let waits = 0;
    const slow: Writable = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, callback) {
        maxErrorListeners = Math.max(maxErrorListeners, slow.listenerCount('error'));
        maxDrainListeners = Math.max(maxDrainListeners, slow.listenerCount('drain'));
        setImmediate(callback);
      },
    });
    slow.on('drain', () => waits++);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const before = slow.listenerCount('error');
    try {
      const { code, stderr } = await replayInProcess([path], slow);
      expect(stderr).toContain('20000 events read, 20000 findings');
      expect(code).toBe(EXIT_OK);
    } finally {
      process.off('warning', onWarning);
    }
    expect(waits).toBeGreaterThan(10); // backpressure did happen, many times
    expect(maxErrorListeners).toBeLessThanOrEqual(before + 1);
    expect(maxDrainListeners).toBeLessThanOrEqual(2);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});

describe('replay: row 10, memory is bounded for every input', () => {
  it('a 64 MiB line of {}, is malformed by line number, in bounded memory', () => {
    const path = join(scratch, 'huge-line.jsonl');
    const huge = `[${'{},'.repeat((64 * 1024 * 1024) / 3)}{}]`;
    writeFileSync(path, `${memOpen(1)}\n${huge}\n${memOpen(2)}\n`);
    const { code, stderr, maxRssKiB } = run(['replay', path]);
    expect(stderr).toContain('procmem-guard replay: line 2: line too long (');
    expect(stderr).toContain('2 events read, 2 findings, 1 malformed lines');
    expect(code).toBe(EXIT_FAILURE);
    expect(maxRssKiB).toBeLessThan(512 * 1024);
  });

  it.each([
    ['the widest array just under the limit', `[${'{},'.repeat((4 * 1024 * 1024 - 8) / 3)}{}]`],
    [
      'the deepest nesting just under the limit',
      `${'['.repeat(2_097_000)}${']'.repeat(2_097_000)}`,
    ],
  ])('%s stays under 512 MB', (_name, line) => {
    const path = join(scratch, 'worst-line.jsonl');
    writeFileSync(path, `${line}\n`);
    const { code, stderr, maxRssKiB } = run(['replay', path]);
    expect(stderr).toContain('line 1: (event): expected a JSON object, got an array');
    expect(code).toBe(EXIT_FAILURE);
    expect(maxRssKiB).toBeLessThan(512 * 1024);
  });

  it('a field nested deeper than 512 is malformed, with its line number', () => {
    const deep = traceeLine().replace('{', `{"deep":${'['.repeat(600)}${']'.repeat(600)},`);
    const result = parseEventLine(deep, 3);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error.message).toMatch(/^line 3: invalid JSON: nesting deeper than 512/);
  });
});

describe('replay: row 11, values out of range', () => {
  it.each([
    [{ timestamp: '-1' }, 'timestamp: expected an unsigned 64-bit integer'],
    [{ timestamp: '18446744073709551616' }, 'timestamp: expected an unsigned 64-bit integer'],
    [{ ctime: '-1' }, 'args[4].value (ctime): expected an unsigned 64-bit integer'],
    [
      { ctime: '18446744073709551616' },
      'args[4].value (ctime): expected an unsigned 64-bit integer',
    ],
    [{ processId: -7 }, 'processId: expected a process id'],
  ])('%o is malformed, the field named', (fields, message) => {
    const result = parseEventLine(traceeLine(fields), 5);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain(`line 5: ${message}`);
  });

  it('a negative inode, or a negative host pid, is malformed too', () => {
    const inode = traceeLine().replace('"value":18446744073709551557', '"value":-5');
    const hostPid = traceeLine().replace('"hostProcessId":4242', '"hostProcessId":-1');
    const inodeResult = parseEventLine(inode, 1);
    const hostPidResult = parseEventLine(hostPid, 1);
    expect(inodeResult.ok || inodeResult.error.message).toContain(
      'args[3].value (inode): expected an unsigned 64-bit integer',
    );
    expect(hostPidResult.ok || hostPidResult.error.message).toContain(
      'hostProcessId: expected a process id',
    );
  });
});

describe('replay: row 12, hostile process names and paths in pretty output', () => {
  const hostile = [
    '\u0007\u001b[2J', // C0: bell, ESC (clear screen)
    '\u007f', // DEL
    '\u009b31m', // C1: 8-bit CSI
    '\u202e', // right-to-left override
    '\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069', // embeddings and isolates
    '\u200e\u200f\u061c', // marks
  ].join('');
  const event = createSecurityFileOpenEvent({
    pathname: `/proc/1/mem${hostile}`,
    flags: 0,
    processId: 7,
    processName: `dd${hostile}`,
    timestamp: 1732675200123456789n,
  });

  it('escapes every control and bidi character, in names and in paths', () => {
    const finding = { sigMetadata: PROC_MEM_ACCESS_METADATA, event, data: null };
    for (const line of [formatFindingPretty(finding), formatEventPretty(event)]) {
      expect(line).not.toMatch(/[\p{Cc}\p{Cf}]/u);
      for (const escaped of ['\\x07', '\\x1b', '\\x7f', '\\x9b', '\\u202e', '\\u2069', '\\u061c']) {
        expect(line).toContain(escaped);
      }
    }
  });

  it('replay --format pretty of such a line prints it escaped', () => {
    const path = file('hostile.jsonl', [
      traceeLine({ processName: `dd${hostile}`, pathname: '/proc/1/mem' }),
    ]);
    const { code, stdout } = run(['replay', path, '--format', 'pretty']);
    // Nothing unprintable but the line's own newline.
    expect(stdout.trimEnd()).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(stdout).toContain('dd\\x07\\x1b[2J\\x7f\\x9b31m\\u202e');
    expect(code).toBe(EXIT_OK);
  });
});
