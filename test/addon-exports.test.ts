// The production addon ships nothing test-only (issue 13). Test-only native code is its own
// addon (binding.gyp target procmem_guard_test, test/native/addon/), as better-sqlite3 builds
// its test_extension. Checked on build/Release/procmem_guard.node (built like the prebuilds,
// unstripped) and on prebuilds/ when present; the packed prebuilds get the same checks in
// test/install.test.ts (scripts/elf-check.mjs). Loading an addon touches no kernel state.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module shared with scripts/prebuilds.mjs
import * as elf from '../scripts/elf-check.mjs';
import { testAddonPath } from './helpers/test-addon.js';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const production = join(root, 'build', 'Release', 'procmem_guard.node');
/** The addon's JavaScript API (src/native.ts NativeAddon, native/binding.cc). */
const API = ['auditListRules', 'auditStatus', 'createCapture', 'probe', 'recordLayout'];

const nmLines = (args: string[], file: string) =>
  execFileSync('nm', [...args, file], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

const prebuildDir = join(root, 'prebuilds');
const prebuilds = existsSync(prebuildDir)
  ? readdirSync(prebuildDir).flatMap((d) =>
      readdirSync(join(prebuildDir, d)).map((f) => join(prebuildDir, d, f)),
    )
  : [];

describe('the production addon', () => {
  it('exports only the N-API entry points (nm -D --defined-only)', () => {
    const exported: string[] = elf.dynamicExports(production);
    expect(exported).toContain('napi_register_module_v1');
    expect(exported.filter((s) => !elf.EXPORTS.includes(s))).toEqual([]);
  });

  it('links no test-only code: none of its symbols (nm) or strings are test-only', () => {
    const symbols = nmLines(['--defined-only', '--demangle'], production);
    expect(symbols.length).toBeGreaterThan(100); // the development build keeps its symbol table
    expect(symbols.filter((l) => /ForTest|ProcessTableHandle|test_export/.test(l))).toEqual([]);
    expect(elf.testOnlyMarkers(production)).toEqual([]);
  });

  it('has exactly the documented JavaScript exports', () => {
    expect(Object.keys(require(production)).sort()).toEqual(API);
  });

  it.each(prebuilds)('prebuild %s: N-API exports only, no test-only code', (file) => {
    const names: string[] = elf.dynamicExports(
      file,
      file.includes('arm64') ? 'aarch64-linux-gnu-nm' : 'nm',
    );
    expect(names).toContain('napi_register_module_v1');
    expect(names.filter((s) => !elf.EXPORTS.includes(s))).toEqual([]);
    expect(elf.testOnlyMarkers(file)).toEqual([]);
  });
});

describe('the test-only addon', () => {
  it('is a separate file with what the tests drive, and its markers are what the check looks for', () => {
    const t = require(testAddonPath) as Record<string, unknown>;
    expect(Object.keys(t).sort()).toEqual(['Handle', 'containerIdFromCgroup']);
    expect(elf.testOnlyMarkers(testAddonPath)).toEqual(
      elf.TEST_ONLY_MARKERS.filter((m: string) => m !== 'processTableForTest'),
    );
  });

  it('leaves no procmem-guard symbol undefined (its sources: native/proc, native/util)', () => {
    // A process table source moved out of those directories would show here, not as a crash.
    const missing = nmLines(['-D', '--undefined-only', '--demangle'], testAddonPath).filter((l) =>
      /\bpmg::/.test(l),
    );
    expect(missing).toEqual([]);
  });
});
