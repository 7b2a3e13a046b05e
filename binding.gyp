{
  # Build modes, chosen by the environment at configure time (node-gyp configure / rebuild):
  #   PMG_WERROR=1     -Werror: the project's own builds (npm run build:native, npm run
  #                    build:prebuilds, CI). Never set for a consumer's fallback source build.
  #   PMG_PORTABLE=1   the prebuild configuration: glibc floor (native/compat/glibc_floor.*)
  #                    and static libstdc++/libgcc. See docs/install.md.
  #   PMG_ASAN=1       AddressSanitizer + UBSan, every error fatal (the sanitizer build of
  #                    scripts/build-native.mjs --sanitize, in its own build directory).
  #   PMG_TEST_ADDON=1 also builds procmem_guard_test.node, the test-only addon (see below).
  #   PMG_EBPF=0       build without the eBPF backend even where its toolchain is present.
  # The eBPF backend (native/ebpf/, docs/ebpf-capture.md) is built in when
  # scripts/ebpf-build.mjs, run at configure time, could make its BPF object and found the
  # static libbpf/libelf/zlib for the target; it writes build/ebpf/ebpf_config.h either way.
  # --exclude-libs: their symbols stay local to the addon (zlib's PC-relative references to its
  # own globals link into a .so only then, in every build mode, not only the portable one).
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "build/ebpf"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags": ["-Wall", "-Wextra"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
    "conditions": [
      ["'<!(echo $PMG_WERROR)'=='1'", {
        "cflags": ["-Werror"],
        "cflags_cc": ["-Werror"]
      }],
      ["'<!(echo $PMG_PORTABLE)'=='1'", {
        "defines": ["PMG_PORTABLE"],
        "include_dirs": ["native/compat"],
        "cflags": ["-fvisibility=hidden", "-ffunction-sections", "-fdata-sections"],
        "cflags_cc": ["-include", "glibc_floor.h", "-fvisibility=hidden", "-fvisibility-inlines-hidden",
                      "-ffunction-sections", "-fdata-sections"],
        "ldflags": ["-static-libstdc++", "-static-libgcc", "-Wl,--gc-sections", "-Wl,--version-script=<(module_root_dir)/native/compat/addon.map"]
      }],
      # -O1 after the -O3 of Release: sanitized code compiles faster and its reports keep
      # their frames.
      ["'<!(echo $PMG_ASAN)'=='1'", {
        "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                      "-fno-omit-frame-pointer", "-g", "-O1"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      # The addon: everything under native/, nothing from test/.
      "target_name": "procmem_guard",
      "sources": ["<!@(find native -name *.cc | sort)"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }],
        ["OS=='linux' and '<!(node scripts/ebpf-build.mjs)'=='1'", {
          "libraries": ["<!@(cat build/ebpf/libs.txt)"],
          "ldflags": ["-Wl,--exclude-libs,ALL"]
        }]
      ]
    }
  ],
  "conditions": [
    # Test-only native code (test/native/addon/: the process table as a JavaScript handle) is
    # its own addon, as better-sqlite3 builds its test_extension: it never enters
    # procmem_guard.node, the prebuilds or the package (test/ is not packed). It compiles the
    # process table's sources (native/proc, native/util, and native/compat for the portable
    # build) a second time; the addon's own build is untouched.
    ["'<!(echo $PMG_TEST_ADDON)'=='1'", {
      "targets": [
        {
          "target_name": "procmem_guard_test",
          "sources": ["<!@(find test/native/addon native/proc native/util native/compat -name *.cc | sort)"],
          "conditions": [["OS!='linux'", { "type": "none" }]]
        }
      ]
    }]
  ]
}
