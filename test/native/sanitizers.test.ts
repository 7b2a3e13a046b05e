// The addon's live capture paths under AddressSanitizer and UBSan (issue 12): the sanitizer
// build of the addon (scripts/build-native.mjs --sanitize, its own directory build/sanitize/,
// incremental) runs scripts/native-smoke.cjs in a node child with the compiler's sanitizer
// runtimes preloaded: every backend started and stopped, a real mem read captured, stats.
// Any ASan or UBSan report fails the test (each error is fatal: -fno-sanitize-recover=all,
// halt_on_error=1). Leaks: node itself leaves allocations behind at exit by design, so the
// LeakSanitizer report is read and only leaks allocated through our code (a frame in native/
// or node-addon-api, or in the addon's module) fail.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostStateOptedIn, isRoot, spawnToEnd } from '../helpers/live.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const LEAK_EXIT = 66; // ASAN_OPTIONS exitcode: a report (a leak: only then may it be foreign)

/** The compiler's runtime library `name` (the addon is built by c++, as node-gyp runs it). */
function runtime(name: string): string {
  const path = execFileSync('c++', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  if (!path.startsWith('/'))
    throw new Error(`c++ has no ${name} (Debian: the gcc package of c++ ships it)`);
  return path;
}

/** The leak reports of LeakSanitizer output whose allocation stack passes through our code. */
function ourLeaks(stderr: string): string[] {
  return stderr
    .split(/\n(?=(?:Direct|Indirect) leak of )/)
    .filter((block) => /^(Direct|Indirect) leak of /.test(block))
    .map((block) => block.split(/\n\s*\n/)[0] ?? block)
    .filter((block) => /\/native\/|napi-inl\.h|procmem_guard[^/\s]*\.node/.test(block));
}

describe.skipIf(!isRoot)('the addon under ASan and UBSan', () => {
  let addon = '';
  let buildMs = 0;
  beforeAll(async () => {
    const t0 = Date.now();
    const build = await spawnToEnd(process.execPath, [
      `${root}/scripts/build-native.mjs`,
      '--sanitize',
    ]);
    buildMs = Date.now() - t0;
    if (build.status !== 0)
      throw new Error(`sanitizer build failed:\n${build.stderr.slice(-6000)}`);
    addon = build.stdout.trim().split('\n').at(-1) ?? '';
  }, 900_000);

  it('is instrumented', () => {
    console.log(`sanitizer build: ${buildMs} ms`);
    const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', addon], {
      encoding: 'utf8',
    });
    expect(undefinedSymbols).toMatch(/__asan_report_load/);
    expect(undefinedSymbols).toMatch(/__ubsan_handle_/);
  });

  // The audit backend changes host state: without the opt-in (test/helpers/live.ts) it is left
  // out here, as in the other live tests.
  const backends = hostStateOptedIn ? ['ebpf', 'fanotify', 'audit'] : ['ebpf', 'fanotify'];
  it('starts and stops every backend, captures real mem reads, with no report on our code', async () => {
    const t0 = Date.now();
    const run = await spawnToEnd(process.execPath, [`${root}/scripts/native-smoke.cjs`, addon], {
      timeout: 240_000,
      env: {
        ...process.env,
        LD_PRELOAD: `${runtime('libasan.so')}:${runtime('libubsan.so')}`,
        ASAN_OPTIONS: `detect_leaks=1:halt_on_error=1:exitcode=${LEAK_EXIT}`,
        UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
        CYCLES: '3',
        BACKENDS: backends.join(','),
      },
    });
    console.log(`smoke under ASan: ${Date.now() - t0} ms\n${run.stdout}`);
    const report = `${run.stdout}\n${run.stderr}`.slice(-20000);
    expect(run.stdout, report).toMatch(/asan preloaded/);
    for (const backend of backends)
      expect(run.stdout, report).toMatch(new RegExp(`^${backend}: ok`, 'm'));
    expect(run.stderr, report).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(ourLeaks(run.stderr), report).toEqual([]);
    if (run.status !== 0) {
      // Only node's own leaks at exit may make it non-zero.
      expect(run.status, report).toBe(LEAK_EXIT);
      expect(run.stderr, report).toMatch(/ERROR: LeakSanitizer: detected memory leaks/);
    }
  }, 300_000);
});
