#!/bin/sh
# Runs the linux-arm64 prebuild on an emulated arm64 Node.js: Debian's qemu-aarch64-static and
# Debian 12's arm64 nodejs (18.x, N-API 9) with its libraries, fetched with apt-get download into
# a private apt state (no change to the host's dpkg architectures, no binfmt registration,
# nothing installed). Loads the addon, calls probe() and makes the addon throw a C++ exception,
# which exercises libgcc's unwinder through glibc_floor.cc's _dl_find_object. Manual check, not
# part of npm test (it downloads about 40 MB of Debian packages). Usage (after npm pack or
# npm run build:prebuilds): sh scripts/arm64-smoke.sh [ADDON]
set -eu
cd "$(dirname "$0")/.."
addon=$(realpath "${1:-prebuilds/linux-arm64/procmem-guard.glibc.node}")
dir=${PMG_ARM64_ROOT:-${TMPDIR:-/tmp}/pmg-arm64-root}
if [ ! -x "$dir/root/usr/bin/node" ]; then
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$dir/root"
  touch "$dir/status"
  set -- -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "Dir::State::status=$dir/status"
  apt-get "$@" update -qq
  (cd "$dir/debs" &&
    apt-get download -qq qemu-user-static &&
    apt-get "$@" download -qq nodejs libnode108 libbrotli1 libc-ares2 libc6 libgcc-s1 libicu72 \
      libnghttp2-14 libssl3 libstdc++6 libuv1 zlib1g node-acorn node-busboy \
      node-cjs-module-lexer node-undici node-xtend)
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
fi
exec "$dir/root/usr/bin/qemu-aarch64-static" -L "$dir/root" "$dir/root/usr/bin/node" -e '
const a = require(process.argv[1]);
if (process.arch !== "arm64") throw new Error(`not arm64: ${process.arch}`);
const p = a.probe();
console.log(`arm64 prebuild loaded on Node.js ${process.version} (${process.arch}): exports ${Object.keys(a).join(", ")}`);
console.log(`probe(): kernel ${p.kernel}, euid ${p.euid}, procfs instances ${p.procfsInstances.length}`);
try {
  a.createCapture({ backend: "none", onWake() {} });
  throw new Error("createCapture accepted a bad backend");
} catch (e) {
  if (!/unknown backend/.test(e.message)) throw e;
  console.log(`C++ exception unwound and reached JavaScript: ${e.message}`);
}' "$addon"
