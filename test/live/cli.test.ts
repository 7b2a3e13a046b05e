// The operator's view: `procmem-guard watch` and `doctor` as processes, against the real kernel.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../src/cli/exit-codes.js';
import { itBackends, liveName, run, runsHere, spawnTarget, waitFor } from '../helpers/live.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!runsHere())(liveName('procmem-guard CLI (live)'), () => {
  itBackends(
    ['ebpf', 'fanotify', 'audit'],
    'doctor --backend %s passes its self-test',
    async (backend) => {
      const r = await run(process.execPath, [cli, 'doctor', '--backend', backend]);
      expect(r.code).toBe(EXIT_OK);
      expect(r.stdout).toMatch(/^self-test\s+PASS: TRC-1023 for the reader/m);
      expect(r.stdout).toMatch(new RegExp(`^backend\\s+${backend} `, 'm'));
      if (backend === 'ebpf')
        expect(r.stdout).toMatch(
          /^attach points\s+tracepoints syscalls\/sys_exit_open, .*io_uring/m,
        );
      // Guard mode: on eBPF the self-test ran under the kernel decision (dry run); the other
      // backends cannot stop an open, and the line says which backend refused.
      expect(r.stdout).toMatch(
        backend === 'ebpf'
          ? /^guard mode\s+available \(eBPF, bpf_send_signal; .* marked the self-test open would-kill\)$/m
          : new RegExp(
              `^guard mode\\s+unavailable: guard mode \\(enforce\\) needs the eBPF backend: the ${backend} backend `,
              'm',
            ),
      );
    },
  );

  it('doctor --policy says whether watch --enforce would accept the policy', async () => {
    const guard = join(root, 'docs/policies/guard.yaml');
    const reporting = join(root, 'docs/policies/legitimate-openers.yaml');
    const ok = await run(process.execPath, [cli, 'doctor', '--backend', 'ebpf', '--policy', guard]);
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.stdout).toMatch(
      new RegExp(
        `^guard policy\\s+${guard}: accepted by --enforce, [1-9]\\d* exception entries in the kernel`,
        'm',
      ),
    );
    const refused = await run(process.execPath, [
      cli,
      'doctor',
      '--backend',
      'ebpf',
      '--policy',
      reporting,
    ]);
    expect(refused.code).toBe(EXIT_OK); // reported, not required
    expect(refused.stdout).toMatch(
      new RegExp(
        `^guard policy\\s+refused by --enforce: ${reporting}:\\d+:\\d+: exceptions\\[\\d+\\]\\.[a-zA-Z.]+: guard mode cannot enforce exception "`,
        'm',
      ),
    );
  });

  it('doctor with auto picks ebpf and names its attach points', async () => {
    const r = await run(process.execPath, [cli, 'doctor']);
    expect(r.code).toBe(EXIT_OK);
    expect(r.stdout).toMatch(/^ebpf\s+built in/m);
    expect(r.stdout).toMatch(/^backend\s+ebpf \(auto: using ebpf; attached at tracepoints /m);
  });

  it('doctor runs nothing found through PATH (planted dd, sleep, cat, ps first on PATH)', async () => {
    const planted = mkdtempSync(join(tmpdir(), 'pmg-path-'));
    const marker = join(planted, 'ran');
    for (const tool of ['dd', 'sleep', 'cat', 'ps', 'sh', 'mount', 'unshare']) {
      writeFileSync(join(planted, tool), `#!/bin/sh\necho ${tool} >> ${marker}\n`, { mode: 0o755 });
    }
    const r = await run(process.execPath, [cli, 'doctor'], {
      ...process.env,
      PATH: `${planted}:${process.env.PATH}`,
    });
    expect(r.stdout).toMatch(/^self-test\s+PASS: TRC-1023/m);
    expect(existsSync(marker) ? readFileSync(marker, 'utf8') : '').toBe('');
  });

  itBackends(
    ['ebpf', 'fanotify', 'audit'],
    'watch --backend %s --format pretty prints the finding, then a summary on SIGINT, exit 0',
    async (backend) => {
      const target = spawnTarget();
      const watch = spawn(process.execPath, [
        cli,
        'watch',
        '--format',
        'pretty',
        '--events',
        '--backend',
        backend,
      ]);
      let out = '';
      let err = '';
      watch.stdout.on('data', (d) => {
        out += d;
      });
      watch.stderr.on('data', (d) => {
        err += d;
      });
      const exited = new Promise<number | null>((r) => watch.on('exit', r));
      try {
        await waitFor('watch to start', () => err.includes('watching with'), 15_000);
        const dd = await run('dd', [
          `if=/proc/${target.pid}/mem`,
          'of=/dev/null',
          'bs=1',
          'count=0',
        ]);
        const line = await waitFor('the pretty finding line', () =>
          out.split('\n').find((l) => l.includes('TRC-1023') && l.includes(`pid ${dd.pid} `)),
        );
        expect(line).toContain(`/proc/${target.pid}/mem`);
        expect(
          out.split('\n').some((l) => /\bevent\b/.test(l) && l.includes(`pid ${dd.pid} `)),
        ).toBe(true);
        watch.kill('SIGINT');
        expect(await exited).toBe(EXIT_OK);
        expect(err).toMatch(new RegExp(`stopped on SIGINT: backend ${backend}, .*findings [1-9]`));
      } finally {
        watch.kill('SIGKILL');
        target.kill();
      }
    },
  );
});
