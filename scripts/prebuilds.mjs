#!/usr/bin/env node
// `npm run build:prebuilds` (also run by `npm pack` through prepack): builds the prebuilt addons
// shipped in the package, prebuilds/linux-x64/ and prebuilds/linux-arm64/ (glibc), with
// prebuildify --napi --strip --tag-libc in the portable configuration (docs/install.md), then
// checks each against the portability floor (scripts/elf-check.mjs). The non-native target is
// cross-compiled with Debian's cross toolchain (g++-aarch64-linux-gnu on an x86-64 host).
// Builds happen in a staging copy, so build/ (the development build) is left alone.
// linux-x64 includes the eBPF backend; the arm64 cross build goes without it (no arm64 static
// libbpf/libelf here: scripts/ebpf-build.mjs says so and the backend reports it at run time).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { arch as hostArch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAddon } from './elf-check.mjs';
import { buildEnv, nodeGyp, root, stageSources } from './native-env.mjs';

const TARGETS = [
  { arch: 'x64', triple: 'x86_64-linux-gnu', apt: 'g++-x86-64-linux-gnu' },
  { arch: 'arm64', triple: 'aarch64-linux-gnu', apt: 'g++-aarch64-linux-gnu' },
];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const stage = mkdtempSync(join(tmpdir(), 'pmg-prebuilds-'));
try {
  stageSources(stage);
  for (const t of TARGETS) {
    const prefix = t.arch === hostArch() ? '' : `${t.triple}-`;
    const tools = { CC: `${prefix}gcc`, CXX: `${prefix}g++`, strip: `${prefix}strip` };
    for (const tool of Object.values(tools)) {
      if (!has(tool))
        throw new Error(`${tool} not found: install the ${prefix ? t.apt : 'g++'} package`);
    }
    console.error(`build:prebuilds: linux-${t.arch} with ${tools.CXX}`);
    const res = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', 'prebuildify', 'bin.js'),
        '--napi',
        '--strip',
        '--tag-libc',
        `--arch=${t.arch}`,
        `--strip-bin=${tools.strip}`,
        `--cwd=${stage}`,
      ],
      {
        cwd: stage,
        stdio: ['ignore', 2, 2], // stdout stays clean for `npm pack --json`
        // Never the test-only addon (prebuildify would take the first .node it finds) nor a
        // sanitizer build, whatever the caller's environment says.
        env: buildEnv({
          PMG_PORTABLE: '1',
          PMG_TEST_ADDON: '',
          PMG_ASAN: '',
          CC: tools.CC,
          CXX: tools.CXX,
          PREBUILD_NODE_GYP: nodeGyp.at(-1),
          JOBS: 'max',
        }),
      },
    );
    if (res.status !== 0) throw new Error(`prebuildify for linux-${t.arch} failed; output above`);
  }
  const built = TARGETS.flatMap((t) => {
    const dir = join(stage, 'prebuilds', `linux-${t.arch}`);
    return readdirSync(dir).map((f) => join(dir, f));
  });
  const reports = built.map(checkAddon);
  for (const r of reports) {
    console.error(
      `build:prebuilds: ${r.file.slice(stage.length + 1)}: ${r.machine}, ${r.maxGlibc}, needs ${r.needed.join(' ')}`,
    );
  }
  const bad = reports.filter((r) => r.problems.length > 0);
  if (bad.length > 0) {
    throw new Error(
      `portability floor not met: ${bad.map((r) => `${r.file}: ${r.problems.join(', ')}`).join('; ')}`,
    );
  }
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  cpSync(join(stage, 'prebuilds'), join(root, 'prebuilds'), { recursive: true });
  execFileSync('sh', ['-c', 'ls -l prebuilds/*/*'], { cwd: root, stdio: ['ignore', 2, 2] });
} catch (err) {
  console.error(`build:prebuilds: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
