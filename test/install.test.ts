// The package as a user gets it (docs/install.md): `npm pack` (prepack builds and checks the
// prebuilds), then the tarball installed into an empty project on a PATH that keeps node and
// npm but has no compiler, make or python3. The install must not compile anything, and live
// capture must work from the prebuild, with and without install scripts. Runs doctor's live
// self-test as root (kernel state: run it under flock /tmp/pmg-kernel.lock when sharing a host).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module shared with scripts/prebuilds.mjs
import * as elf from '../scripts/elf-check.mjs';
import { EXIT_FAILURE } from '../src/cli/exit-codes.js';
import { isRoot, liveName, spawnToEnd } from './helpers/live.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
// Size budget. Today: 0.86 MiB packed, 2.15 MiB unpacked, of which the two stripped
// prebuilds (static libstdc++ included) are about 0.85 MiB each. The budget leaves room to
// grow, and fails on what a slip would add: build/ (1.5 MiB of objects), an unstripped or
// non-gc'd binary, a third binary, node_modules, test fixtures or bench results.
const PACKED_BUDGET = 1.5 * MiB;
const UNPACKED_BUDGET = 3.5 * MiB;
// What a user's PATH keeps: node and npm, and the shell npm runs scripts with (doctor's
// self-test spawns nothing through PATH).
const PATH_TOOLS = ['node', 'npm', 'npx', 'sh'];
const TOOLCHAIN = ['cc', 'gcc', 'g++', 'c++', 'make', 'python3', 'python'];

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

let work: string;
let pack: PackResult;
let tarball: string;
let binDir: string;

/** A user's environment: no npm_* variables of this test run, PATH = binDir only. */
function userEnv(): NodeJS.ProcessEnv {
  return { HOME: process.env.HOME, PATH: binDir, LANG: 'C.UTF-8' };
}

/**
 * Runs `cmd` in the user's environment without blocking this worker (npm install and npx take
 * a minute on a loaded machine: test/helpers/live.ts spawnToEnd); killed after 120 s (status
 * null). A command that cannot be started rejects.
 */
async function run(cmd: string, args: string[], cwd: string) {
  const t0 = process.hrtime.bigint();
  const res = await spawnToEnd(cmd, args, { cwd, env: userEnv(), timeout: 120_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { status: res.status, out: `${res.stdout}${res.stderr}`, ms };
}

/** An empty project with the tarball installed; returns the project directory. */
async function installInto(name: string, extra: string[]) {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    '{"name":"consumer","version":"1.0.0","private":true}\n',
  );
  const res = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--foreground-scripts',
      ...extra,
      tarball,
    ],
    dir,
  );
  console.log(`npm install ${[...extra, 'tarball'].join(' ')}: ${res.ms.toFixed(0)} ms`);
  expect(res.status, res.out).toBe(0);
  expect(res.out).not.toMatch(/gyp (info|ERR)|node-gyp rebuild|CXX\(target\)/);
  const pkg = join(dir, 'node_modules', 'procmem-guard');
  expect(existsSync(join(pkg, 'build')), 'nothing was compiled').toBe(false);
  return { dir, pkg, out: res.out };
}

beforeAll(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), 'pmg-pack-')));
  // npm pack builds both prebuilds (a minute or more on a loaded 2-core machine): it must not
  // block this worker's event loop, or vitest's worker-to-runner calls time out after 60 s
  // ("Timeout calling onTaskUpdate", seen with two CPU burners beside the suite).
  const res = await spawnToEnd('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
  });
  if (res.status !== 0) throw new Error(`npm pack failed:\n${res.stderr.slice(-4000)}`);
  pack = (JSON.parse(res.stdout) as PackResult[])[0] as PackResult;
  tarball = join(work, pack.filename);
  console.log(`tarball ${pack.filename}: ${pack.size} bytes, unpacked ${pack.unpackedSize}`);

  binDir = join(work, 'bin');
  mkdirSync(binDir);
  for (const tool of PATH_TOOLS) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(binDir, tool));
  }
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the built package and nothing else', () => {
    const paths = pack.files.map((f) => f.path);
    for (const required of [
      'package.json',
      'LICENSE',
      'README.md',
      'binding.gyp',
      'scripts/ebpf-build.mjs',
      'native/ebpf/procmem.bpf.c',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'docs/install.md',
      // The example policy, so that an installed package can point --policy at it.
      'docs/policies/legitimate-openers.yaml',
      'native/binding.cc',
      'native/compat/glibc_floor.cc',
      'prebuilds/linux-x64/procmem-guard.glibc.node',
      'prebuilds/linux-arm64/procmem-guard.glibc.node',
    ]) {
      expect(paths).toContain(required);
    }
    const allowed =
      /^(package\.json|LICENSE|README\.md|binding\.gyp|scripts\/ebpf-build\.mjs|dist\/.+\.(js|d\.ts)|docs\/.+\.md|docs\/policies\/[^/]+\.yaml|native\/.+\.(cc|h|c|map|md)|prebuilds\/linux-(x64|arm64)\/procmem-guard\.glibc\.node)$/;
    expect(paths.filter((p) => !allowed.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.map') && p.startsWith('dist/'))).toEqual([]);
    expect(paths.filter((p) => /\.test\.js$/.test(p))).toEqual([]);
  });

  it(`stays within the size budget (${PACKED_BUDGET / MiB} MiB packed, ${UNPACKED_BUDGET / MiB} MiB unpacked)`, () => {
    expect(pack.size).toBeLessThanOrEqual(PACKED_BUDGET);
    expect(pack.unpackedSize).toBeLessThanOrEqual(UNPACKED_BUDGET);
  });
});

describe('install from the tarball without a toolchain', () => {
  let withScripts: Awaited<ReturnType<typeof installInto>>;

  it('the PATH has node and npm but no compiler, make or python', () => {
    expect(readdirSync(binDir).sort()).toEqual([...PATH_TOOLS].sort());
    for (const tool of TOOLCHAIN) {
      expect(
        spawnSync('sh', ['-c', `command -v ${tool}`], { env: userEnv() }).status,
        tool,
      ).not.toBe(0);
    }
  });

  it('npm install runs the install script, which finds the prebuild and compiles nothing', async () => {
    withScripts = await installInto('with-scripts', []);
    expect(withScripts.out).toMatch(/> node-gyp-build/);
  }, 120_000);

  it('every shipped prebuild meets the portability floor (machine, GLIBC_2.28, no libstdc++)', () => {
    const files = ['x64', 'arm64'].map((arch) =>
      join(withScripts.pkg, 'prebuilds', `linux-${arch}`, 'procmem-guard.glibc.node'),
    );
    const res = spawnSync(process.execPath, [join(root, 'scripts', 'elf-check.mjs'), ...files], {
      encoding: 'utf8',
    });
    const reports = JSON.parse(res.stdout) as {
      machine: string;
      maxGlibc: string;
      needed: string[];
      problems: string[];
    }[];
    expect(reports.map((r) => r.machine)).toEqual(['x64', 'arm64']);
    for (const r of reports) {
      console.log(`${r.machine} prebuild: newest ${r.maxGlibc}, NEEDED ${r.needed.join(' ')}`);
      expect(r.problems).toEqual([]);
      expect(r.needed.some((lib) => /libstdc\+\+|libgcc_s/.test(lib))).toBe(false);
    }
    expect(res.status).toBe(0);
  });

  it('every shipped prebuild exports only N-API symbols (nm -D --defined-only) and no test-only code', () => {
    for (const [arch, nm] of [
      ['x64', 'nm'],
      ['arm64', 'aarch64-linux-gnu-nm'],
    ] as const) {
      const file = join(withScripts.pkg, 'prebuilds', `linux-${arch}`, 'procmem-guard.glibc.node');
      const names: string[] = elf.dynamicExports(file, nm);
      expect(names, arch).toContain('napi_register_module_v1');
      expect(
        names.filter((n) => !elf.EXPORTS.includes(n)),
        arch,
      ).toEqual([]);
      expect(elf.testOnlyMarkers(file), arch).toEqual([]);
    }
  });

  it.runIf(isRoot)(
    liveName('npx procmem-guard doctor passes (live self-test on the prebuild)'),
    async () => {
      const res = await run('npx', ['procmem-guard', 'doctor'], withScripts.dir);
      expect(res.status, res.out).toBe(0);
      expect(res.out).toContain(
        `native addon         ${join(withScripts.pkg, 'prebuilds', `linux-${process.arch}`, 'procmem-guard.glibc.node')}`,
      );
      expect(res.out).toMatch(/self-test\s+PASS: TRC-1023/);
      // The x64 prebuild carries the eBPF backend (arm64 goes without: docs/ebpf-capture.md).
      if (process.arch === 'x64') expect(res.out).toMatch(/^backend\s+ebpf \(auto: using ebpf/m);
    },
    60_000,
  );

  // node-gyp as npm runs scripts (npm sets npm_config_node_gyp); a user's fallback build is
  // node-gyp-build's `node-gyp rebuild` in the installed package, with the user's environment.
  const nodeGyp = process.env.npm_config_node_gyp;
  it.skipIf(!nodeGyp)('a fallback source build gets neither -Werror nor the portable flags', () => {
    const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: process.env.PATH };
    if (process.env.npm_config_nodedir) env.npm_config_nodedir = process.env.npm_config_nodedir;
    const res = spawnSync(process.execPath, [nodeGyp as string, 'configure'], {
      cwd: withScripts.pkg,
      env,
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    const makefile = readFileSync(
      join(withScripts.pkg, 'build', 'procmem_guard.target.mk'),
      'utf8',
    );
    rmSync(join(withScripts.pkg, 'build'), { recursive: true });
    expect(makefile).toMatch(/-Wextra/);
    expect(makefile).not.toMatch(/-Werror|static-libstdc\+\+|PMG_PORTABLE|glibc_floor\.h/);
  });

  it('with --ignore-scripts the prebuild is found at load time', async () => {
    const noScripts = await installInto('ignore-scripts', ['--ignore-scripts']);
    expect(noScripts.out).not.toMatch(/> node-gyp-build/);
    const script = `import('procmem-guard').then((m) => console.log(m.nativeAddonPath()))`;
    const res = await run('node', ['-e', script], noScripts.dir);
    expect(res.status, res.out).toBe(0);
    expect(res.out.trim()).toBe(
      join(noScripts.pkg, 'prebuilds', `linux-${process.arch}`, 'procmem-guard.glibc.node'),
    );
    if (isRoot) {
      const doctor = await run('npx', ['procmem-guard', 'doctor'], noScripts.dir);
      expect(doctor.status, doctor.out).toBe(0);
      expect(doctor.out).toMatch(/self-test\s+PASS: TRC-1023/);
    }

    // No binary at all: replay and the engine still work; live capture names the fix.
    renameSync(join(noScripts.pkg, 'prebuilds'), join(noScripts.pkg, 'prebuilds.off'));
    const replay = await run(
      'npx',
      ['procmem-guard', 'replay', join(root, 'test', 'fixtures', 'tracee-sample.jsonl')],
      noScripts.dir,
    );
    expect(replay.status, replay.out).toBe(0);
    expect(replay.out).toMatch(/9 events read, 6 findings/);
    const watch = await run('npx', ['procmem-guard', 'watch'], noScripts.dir);
    expect(watch.status).toBe(EXIT_FAILURE);
    expect(watch.out).toMatch(/no prebuild for linux-/);
    expect(watch.out).toMatch(/npm rebuild procmem-guard/);
    expect(watch.out).toMatch(/python3 make g\+\+/);
    const lib = await run(
      'node',
      [
        '-e',
        `import('procmem-guard').then(async (m) => {
          const w = new m.ProcMemWatcher();
          await w.start().catch((e) => console.log(e.code));
          console.log(new m.SignatureEngine().constructor.name);
        })`,
      ],
      noScripts.dir,
    );
    expect(lib.out.trim().split('\n')).toEqual(['NATIVE_MISSING', 'SignatureEngine']);
  }, 180_000);
});
