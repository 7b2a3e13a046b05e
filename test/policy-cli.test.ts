// `procmem-guard policy check`, `replay --policy`, and the policy errors of `watch` that come
// before capture starts: the built CLI (dist/cli/main.js, built by `npm test`), as a user runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../src/cli/exit-codes.js';
import { parseConfig } from '../src/service/config.js';
import { traceeLine } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli/main.js');
const example = join(root, 'docs/policies/legitimate-openers.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'pmg-policy-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

const BROKEN =
  'version: 1\nexceptions:\n  - name: a\n    opener: { exe: [gdb] }\n    action: suppress\n';

describe('procmem-guard policy check', () => {
  it('accepts the example policy and says what each exception matches', () => {
    const { code, stdout, stderr } = run(['policy', 'check', example]);
    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(/exception\(s\), dedup window 1m/);
    expect(stdout).toContain(
      '1. gdb-on-its-own-inferiors (line 24): suppresses TRC-1023, TRC-1024 findings of any open (read, write or both)',
    );
    expect(stdout).toContain(
      'opener: exe /usr/bin/gdb or /usr/bin/gdb-multiarch or /usr/libexec/gdb; on the host (not in a container)',
    );
    expect(stdout).toContain('target: relation ancestor (the opener started the target)');
    expect(stdout).toContain('needs target information: live capture only');
    expect(stdout).toMatch(/bcc-usdt-semaphores .*annotates/);
    expect(stdout).toMatch(
      /kernel-decidable \(guard mode\): no: .*opener\.comm \(set by the process itself/,
    );
    // gdb's entry (literal paths, host, relation, access) could be decided in the kernel.
    expect(stdout).toMatch(
      /gdb-on-its-own-inferiors[^\n]*\n(?:.*\n){3}\s+kernel-decidable \(guard mode\): yes\n/,
    );
  });

  it('an invalid file: exit 2 with file, line, column and field', () => {
    const bad = file('bad.yaml', BROKEN);
    const { code, stdout, stderr } = run(['policy', 'check', bad]);
    expect(code).toBe(EXIT_USAGE);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `procmem-guard policy: ${bad}:4:21: exceptions[0].opener.exe[0]: bad glob "gdb" at character 1: an executable glob is an absolute path (starts with /) or starts with **/ (any directory)\n`,
    );
  });

  it('a signature that does not exist is an error (its exception could never match)', () => {
    const bad = file(
      'sig.yaml',
      'version: 1\nexceptions:\n  - name: a\n    signatures: [TRC-1032]\n    opener: { uid: [0] }\n    action: suppress\n',
    );
    const { code, stderr } = run(['policy', 'check', bad]);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(`${bad}:3:5: exceptions[0].signatures: no signature "TRC-1032"`);
  });

  it.each([
    [['policy'], /expected "check FILE"/],
    [['policy', 'lint', 'x'], /unknown subcommand "lint"; expected check/],
    [['policy', 'check'], /expected a FILE/],
    [['policy', 'check', '/nonexistent.yaml'], /\/nonexistent\.yaml: cannot read: ENOENT/],
  ])('%j: exit 2', (args, message) => {
    const { code, stderr } = run(args);
    expect(stderr).toMatch(message);
    expect(code).toBe(EXIT_USAGE);
  });
});

describe('watch and replay with --policy', () => {
  it('watch refuses an invalid policy before capture starts: exit 2 with line and column', () => {
    const bad = file('watch-bad.yaml', BROKEN);
    const { code, stderr } = run(['watch', '--policy', bad]);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toMatch(
      new RegExp(
        `^procmem-guard watch: ${bad}:4:21: exceptions\\[0\\]\\.opener\\.exe\\[0\\]: bad glob`,
      ),
    );
    expect(stderr).not.toContain('watching with');
  });

  it('replay applies opener exceptions and dedup; the summary counts them', () => {
    const policy = file(
      'replay.yaml',
      'version: 1\ndedup: { window: 10s }\nexceptions:\n  - { name: no-cat, opener: { comm: [cat] }, action: suppress }\n',
    );
    const input = [
      traceeLine({ processName: 'cat' }),
      traceeLine({ timestamp: '1732675200000000000' }),
      traceeLine({ timestamp: '1732675201000000000' }),
      traceeLine({ timestamp: '1732675202000000000' }),
    ].join('\n');
    const { code, stdout, stderr } = run(
      ['replay', '--policy', policy, '--format', 'pretty'],
      input,
    );
    expect(code).toBe(EXIT_OK);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toBe(
      'procmem-guard replay: 4 events read, 1 findings, 0 malformed lines; suppressed 1 (no-cat 1), annotated 0, dedup folded 2 (carried 0, pending 2, evicted 0)\n',
    );
  });

  it('replay --policy with an invalid file: exit 2', () => {
    const { code, stderr } = run(['replay', '--policy', file('r-bad.yaml', 'version: 3\n')], '');
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toMatch(/r-bad\.yaml:1:10: version: unsupported version 3/);
  });

  it('the config file takes policy:, relative to its own directory', () => {
    expect(parseConfig('policy: p.yaml\n', '/etc/procmem-guard/config.yaml').policy).toBe(
      '/etc/procmem-guard/p.yaml',
    );
    expect(() => parseConfig('policy: [a]\n', 'c.yaml')).toThrow(
      /^c\.yaml:1:9: policy must be a file path$/,
    );
  });
});
