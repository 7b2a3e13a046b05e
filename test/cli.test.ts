// Runs the built CLI (dist/cli/main.js, built by `npm test`) as a user would.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../src/cli/exit-codes.js';
import { traceeLine } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const fixture = (name: string) => join(root, 'test/fixtures', name);
const scratch = mkdtempSync(join(tmpdir(), 'procmem-guard-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[], input?: string | Buffer) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('procmem-guard replay on the Tracee sample', () => {
  it.each([
    ['tracee', 'tracee-sample.findings.tracee.jsonl'],
    ['json', 'tracee-sample.findings.json.jsonl'],
    ['pretty', 'tracee-sample.findings.pretty.txt'],
  ])('--format %s prints the expected findings', (format, expected) => {
    const { code, stdout, stderr } = run([
      'replay',
      fixture('tracee-sample.jsonl'),
      '--format',
      format,
    ]);
    expect(stdout).toBe(readFileSync(fixture(expected), 'utf8'));
    expect(stderr).toBe('procmem-guard replay: 9 events read, 6 findings, 0 malformed lines\n');
    expect(code).toBe(EXIT_OK);
  });

  it('tracee format: detection events with the causal event as triggeredBy', () => {
    const { stdout } = run(['replay', fixture('tracee-sample.jsonl'), '--format', 'tracee']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((l) => /"eventName":"(\w+)"/.exec(l)?.[1])).toEqual([
      'proc_mem_access',
      'proc_mem_access',
      'proc_mem_code_injection',
      'proc_mem_code_injection',
      'proc_mem_access',
      'proc_mem_access',
    ]);
    const first = lines[0] as string;
    // 19-digit integers come out digit for digit.
    expect(first).toMatch(
      /^\{"timestamp":1732675201338719205,"threadStartTime":1732675201336511862,/,
    );
    expect(first).toContain('"processId":48211,');
    expect(first).toContain('"processName":"dd",');
    expect(first).toContain(
      '"args":[{"name":"triggeredBy","type":"unknown","value":{"args":[{"name":"pathname","type":"const char*","value":"/proc/4321/mem"},',
    );
    expect(first).toContain('"id":732,"name":"security_file_open","returnValue":0}}]');
    expect(first).toContain(
      '"metadata":{"Version":"1","Description":"Process memory access detected. Adversaries may access other processes memory to steal credentials and secrets.","Tags":null,"Properties":{"Category":"credential-access","Kubernetes_Technique":"","Severity":3,"Technique":"Proc Filesystem","external_id":"T1003.007","id":"attack-pattern--3120b9fa-23b8-4500-ae73-09494f607b7d","signatureID":"TRC-1023","signatureName":"Process memory access detected"}}}',
    );
    expect(first).not.toContain('matchedPolicies');
  });

  it('reads standard input with "-" and by default', () => {
    const input = readFileSync(fixture('tracee-sample.jsonl'));
    const expected = readFileSync(fixture('tracee-sample.findings.json.jsonl'), 'utf8');
    expect(run(['replay', '-'], input).stdout).toBe(expected);
    expect(run(['replay'], input).stdout).toBe(expected);
  });

  it('takes CRLF line endings', () => {
    const input = readFileSync(fixture('tracee-sample.jsonl'), 'utf8').replace(/\n/g, '\r\n');
    const { code, stdout } = run(['replay', '-', '--format', 'pretty'], input);
    expect(stdout).toBe(readFileSync(fixture('tracee-sample.findings.pretty.txt'), 'utf8'));
    expect(code).toBe(EXIT_OK);
  });
});

describe('procmem-guard replay on malformed input', () => {
  const good = traceeLine();
  const lines = [
    good, // 1
    '', // 2: empty, skipped silently
    good.slice(0, 200), // 3: truncated JSON
    traceeLine({ timestamp: '"yesterday"' }), // 4: wrong type
    Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x41, 0x7b]).toString('latin1'), // 5: binary garbage
    `{"a":"${'x'.repeat(3 * 1024 * 1024)}"}`, // 6: a 3 MB line, valid JSON but no event
    `{"a":"${'y'.repeat(3 * 1024 * 1024)}`, // 7: a 3 MB line, truncated
    traceeLine({ flags: 'O_RDONLY|O_NOPE' }), // 8: unknown flag
    '   ', // 9: blank
    good, // 10
  ];
  const file = join(scratch, 'malformed.jsonl');
  writeFileSync(file, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));

  it('reports each bad line with its number, skips it and goes on', () => {
    const { code, stdout, stderr } = run(['replay', file]);
    expect(stdout.trimEnd().split('\n')).toHaveLength(2);
    const messages = stderr.trimEnd().split('\n');
    expect(messages).toEqual([
      expect.stringMatching(/^procmem-guard replay: line 3: invalid JSON: /),
      'procmem-guard replay: line 4: timestamp: expected an exact integer, got string "yesterday"',
      expect.stringMatching(/^procmem-guard replay: line 5: invalid JSON: /),
      'procmem-guard replay: line 6: eventName: missing',
      expect.stringMatching(/^procmem-guard replay: line 7: invalid JSON: /),
      'procmem-guard replay: line 8: args[1].value (flags): unknown open flag "O_NOPE" in "O_RDONLY|O_NOPE"',
      'procmem-guard replay: 2 events read, 2 findings, 6 malformed lines',
    ]);
    for (const message of messages) expect(message.length).toBeLessThan(400);
    expect(code).toBe(EXIT_FAILURE);
  });

  it('exits 0 with --lenient', () => {
    const { code, stderr } = run(['replay', file, '--lenient']);
    expect(stderr).toContain('6 malformed lines');
    expect(code).toBe(EXIT_OK);
  });

  it('handles a file of pure binary garbage without crashing', () => {
    const garbage = Buffer.alloc(256 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    const { code, stderr } = run(['replay', '-'], garbage);
    expect(stderr).toMatch(/line 1: invalid JSON/);
    expect(stderr).toMatch(/0 events read, 0 findings, \d+ malformed lines\n$/);
    expect(code).toBe(EXIT_FAILURE);
  });
});

describe('procmem-guard command line', () => {
  it('--help lists the commands', () => {
    const { code, stdout } = run(['--help']);
    expect(stdout).toMatch(/^Usage: procmem-guard <command>/);
    expect(stdout).toMatch(/^ {2}replay {2}/m);
    expect(code).toBe(EXIT_OK);
  });

  it('replay --help describes its options', () => {
    expect(run(['replay', '--help']).stdout).toContain('--format FORMAT');
    expect(run(['help', 'replay']).stdout).toContain('--lenient');
  });

  it.each([
    [['replay', '--format', 'xml'], /unknown --format "xml"; expected one of json, tracee, pretty/],
    [['replay', '--bogus'], /Unknown option '--bogus'/],
    [['replay', 'a', 'b'], /expected at most one FILE, got 2/],
    [['replay', '/nonexistent/trace.jsonl'], /cannot read \/nonexistent\/trace.jsonl: ENOENT/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j is a usage error (exit 2)', (args, message) => {
    const { code, stderr } = run(args);
    expect(stderr).toMatch(message);
    expect(code).toBe(EXIT_USAGE);
  });
});
