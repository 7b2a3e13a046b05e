#!/usr/bin/env node
// Checks prebuilt addons against the portability floor (docs/install.md): an ELF shared object
// for the architecture its directory names, no glibc symbol version newer than GLIBC_2.28, no
// dependency on libstdc++ or libgcc_s, only the N-API entry points exported, stripped, and no
// test-only native code (test/native/addon/ is its own addon, never linked into this one).
// Usage: node scripts/elf-check.mjs FILE...   (FILE under prebuilds/linux-<arch>/)
// Prints one JSON report per file (an array) and exits 1 if any file has a problem.
// Needs readelf (binutils), which reads any architecture's ELF files.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export const GLIBC_FLOOR = '2.28';
const MACHINES = { 62: 'x64', 183: 'arm64' }; // ELF e_machine: EM_X86_64, EM_AARCH64
const ALLOWED_NEEDED = new Set([
  'libc.so.6',
  'libm.so.6',
  'libdl.so.2',
  'libpthread.so.0',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
]);
export const EXPORTS = ['napi_register_module_v1', 'node_api_module_get_api_version_v1'];
/**
 * Strings that only the test-only addon (test/native/addon/) contains: its module and class
 * names, and the name the process table handle had when it was an export of this addon.
 */
export const TEST_ONLY_MARKERS = ['procmem_guard_test', 'ProcessTableHandle', 'processTableForTest'];

/**
 * The names of the dynamic symbols `file` defines, as `nm -D --defined-only` lists them; `nm`
 * is the binutils nm for the file's machine (aarch64-linux-gnu-nm for arm64 on x86-64).
 */
export function dynamicExports(file, nm = 'nm') {
  return execFileSync(nm, ['-D', '--defined-only', file], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).at(-1));
}

/** The test-only markers found anywhere in `file`'s bytes (strings survive stripping). */
export function testOnlyMarkers(file) {
  const bytes = readFileSync(file);
  return TEST_ONLY_MARKERS.filter((m) => bytes.includes(m));
}

const versionKey = (v) => v.split('.').map(Number);
export function compareVersions(a, b) {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const readelf = (args, file) =>
  execFileSync('readelf', [...args, '-W', file], { encoding: 'utf8' });

export function checkAddon(file) {
  const problems = [];
  const head = readFileSync(file).subarray(0, 20);
  const isElf64 = head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head[5] === 1;
  const type = head.readUInt16LE(16); // ET_DYN = 3
  const machine = MACHINES[head.readUInt16LE(18)] ?? `e_machine ${head.readUInt16LE(18)}`;
  if (!isElf64 || type !== 3) problems.push('not a 64-bit little-endian ELF shared object');
  const dirArch = /^linux-(x64|arm64)$/.exec(basename(dirname(file)))?.[1];
  if (dirArch && machine !== dirArch) problems.push(`machine ${machine} in linux-${dirArch}/`);

  const glibc = [...readelf(['-V'], file).matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]);
  const maxGlibc = glibc.sort(compareVersions).at(-1) ?? null;
  if (maxGlibc && compareVersions(maxGlibc, GLIBC_FLOOR) > 0) {
    problems.push(`needs GLIBC_${maxGlibc}, newer than the floor GLIBC_${GLIBC_FLOOR}`);
  }
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map(
    (m) => m[1],
  );
  for (const lib of needed) if (!ALLOWED_NEEDED.has(lib)) problems.push(`depends on ${lib}`);

  const exported = readelf(['--dyn-syms'], file)
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[6] !== 'UND' && (f[4] === 'GLOBAL' || f[4] === 'WEAK'))
    .map((f) => f[7].replace(/@.*/, ''));
  const extra = exported.filter((s) => !EXPORTS.includes(s));
  if (extra.length > 0)
    problems.push(`exports ${extra.length} symbol(s) beyond N-API: ${extra[0]}`);
  for (const marker of testOnlyMarkers(file)) problems.push(`contains test-only code (${marker})`);
  const stripped = !/\s\.symtab\s/.test(readelf(['-S'], file));
  if (!stripped) problems.push('not stripped');
  return { file, machine, maxGlibc: maxGlibc && `GLIBC_${maxGlibc}`, needed, stripped, problems };
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node scripts/elf-check.mjs FILE...');
    process.exit(2);
  }
  const reports = files.map(checkAddon);
  console.log(JSON.stringify(reports, null, 2));
  process.exit(reports.some((r) => r.problems.length > 0) ? 1 : 0);
}
