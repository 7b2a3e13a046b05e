#!/usr/bin/env node
// Called by binding.gyp at configure time (`<!(node scripts/ebpf-build.mjs)`): builds the BPF
// half of the eBPF backend (docs/ebpf-capture.md) into build/ebpf/ and prints 1 if the addon
// can include it, else 0. Nothing else goes to stdout (gyp reads it); reasons go to stderr and
// to build/ebpf/ebpf_config.h, which the addon compiles in (PMG_EBPF_MISSING: why not).
//   1. vmlinux.h from /sys/kernel/btf/vmlinux (bpftool btf dump ... format c)
//   2. procmem.bpf.o: clang -target bpf, CO-RE (relocated by libbpf at load on any kernel)
//   3. procmem.linked.o (bpftool gen object: the same without DWARF), then procmem.skel.h:
//      bpftool gen skeleton, which embeds the object's bytes in the addon
//   4. the static libraries linked into the addon: libbpf.a (a copy, see below), libelf.a and
//      libz.a, for the compiler's target triple (${CXX:-g++} -dumpmachine). A cross
//      build (the linux-arm64 prebuild) finds none of these for its triple and goes without.
// PMG_EBPF=0 in the environment builds without the backend on purpose.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build', 'ebpf');
mkdirSync(out, { recursive: true });

const run = (cmd, args, opts = {}) =>
  spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });

const BPF_ARCH = { x86_64: 'x86', aarch64: 'arm64' };

function build() {
  if (process.env.PMG_EBPF === '0') return { missing: 'built with PMG_EBPF=0' };
  const cxx = process.env.CXX || 'g++';
  const triple = run(cxx, ['-dumpmachine']).stdout?.trim();
  if (!triple) return { missing: `cannot run ${cxx} -dumpmachine` };
  const hostTriple = run('cc', ['-dumpmachine']).stdout?.trim();
  const libdir = `/usr/lib/${triple}`;
  const libs = ['libbpf.a', 'libelf.a', 'libz.a'].map((l) => join(libdir, l));
  const absent = libs.filter((l) => !existsSync(l));
  if (absent.length > 0)
    return {
      missing: `static ${absent.map((l) => l.split('/').pop()).join(', ')} not found for ${triple} (Debian: libbpf-dev, libelf-dev, zlib1g-dev${triple === hostTriple ? '' : ` for ${triple}`})`,
    };
  // libbpf.a is built for executables: its PC-relative reference to glibc's `stderr` cannot
  // be linked into a shared object. A copy with the symbol renamed to pmg_stderr (defined in
  // native/ebpf/static_libs_shim.cc) can. libelf.a's own problem is solved there too.
  const objcopy = run('objcopy', ['--redefine-sym', 'stderr=pmg_stderr', libs[0], join(out, 'libbpf.a')]);
  if (objcopy.error || objcopy.status !== 0)
    return { missing: `objcopy of libbpf.a failed (binutils): ${objcopy.error?.message ?? objcopy.stderr}` };
  libs[0] = join(out, 'libbpf.a');
  if (!existsSync('/usr/include/bpf/libbpf.h'))
    return { missing: 'libbpf headers not found (Debian: libbpf-dev)' };
  const arch = BPF_ARCH[triple.split('-')[0]];
  if (!arch) return { missing: `no BPF target arch for ${triple}` };
  const btf = '/sys/kernel/btf/vmlinux';
  if (!existsSync(btf)) return { missing: `${btf} not found: the kernel has no BTF` };
  if (triple !== hostTriple)
    return { missing: `cross build for ${triple}: vmlinux.h comes from this ${hostTriple} kernel` };
  const vmlinux = run('bpftool', ['btf', 'dump', 'file', btf, 'format', 'c']);
  if (vmlinux.error || vmlinux.status !== 0)
    return { missing: `bpftool btf dump failed (Debian: bpftool): ${vmlinux.error?.message ?? vmlinux.stderr}` };
  writeFileSync(join(out, 'vmlinux.h'), vmlinux.stdout);
  const obj = join(out, 'procmem.bpf.o');
  const cc = run('clang', [
    '-g',
    '-O2',
    '-Wall',
    '-Werror',
    '-target',
    'bpf',
    `-D__TARGET_ARCH_${arch}`,
    '-I',
    out,
    '-I',
    join(root, 'native', 'ebpf'),
    '-c',
    join(root, 'native', 'ebpf', 'procmem.bpf.c'),
    '-o',
    obj,
  ]);
  if (cc.error || cc.status !== 0)
    return {
      missing: `clang -target bpf failed (Debian: clang): ${cc.error?.message ?? cc.stderr}`,
      broken: !cc.error,
    };
  // bpftool's linker writes the object without DWARF (BTF, which CO-RE needs, stays): 65 KB
  // embedded in the addon instead of 700 KB.
  const linked = join(out, 'procmem.linked.o');
  const link = run('bpftool', ['gen', 'object', linked, obj]);
  if (link.error || link.status !== 0)
    return { missing: `bpftool gen object failed: ${link.error?.message ?? link.stderr}`, broken: true };
  const skel = run('bpftool', ['gen', 'skeleton', linked, 'name', 'procmem_bpf']);
  if (skel.error || skel.status !== 0)
    return { missing: `bpftool gen skeleton failed: ${skel.error?.message ?? skel.stderr}`, broken: true };
  writeFileSync(join(out, 'procmem.skel.h'), skel.stdout);
  return { libs };
}

const res = build();
// The project's own builds (PMG_WERROR=1: npm run build:native, prebuilds, CI) must not drop
// the backend silently because the BPF program stopped compiling: only a missing toolchain or
// library (or a cross build) may leave it out there.
if (res.broken && process.env.PMG_WERROR === '1') {
  console.error(`procmem-guard: eBPF build failed: ${res.missing}`);
  process.exit(1);
}
const config = res.missing
  ? `#define PMG_EBPF_MISSING ${JSON.stringify(res.missing.replace(/\s+/g, ' ').slice(0, 400))}\n`
  : '#define PMG_EBPF 1\n';
const configPath = join(out, 'ebpf_config.h');
const header = `// Generated by scripts/ebpf-build.mjs at configure time.\n#pragma once\n${config}`;
if (!existsSync(configPath) || readFileSync(configPath, 'utf8') !== header)
  writeFileSync(configPath, header);
writeFileSync(join(out, 'libs.txt'), (res.libs ?? []).join(' '));
if (res.missing) console.error(`procmem-guard: building without the eBPF backend: ${res.missing}`);
process.stdout.write(res.missing ? '0' : '1');
