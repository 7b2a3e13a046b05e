// The environment of the project's own native builds (scripts/build-native.mjs, the dev and CI
// build, and scripts/prebuilds.mjs): node-gyp, the Node.js headers without a download, and the
// build modes of binding.gyp. A consumer's fallback source build (node-gyp-build's
// `node-gyp rebuild` at install) uses none of this: no -Werror, no static libstdc++.
import { cpSync, existsSync, lstatSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** The node-gyp that npm bundles, beside this Node.js (a global npm install). */
const bundledNodeGyp = join(
  dirname(dirname(process.execPath)),
  'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
);

/**
 * node-gyp as npm runs it (npm sets npm_config_node_gyp), else npm's bundled one (a script run
 * with plain node, as the sanitizer test does), else the one on PATH.
 */
export const nodeGyp = process.env.npm_config_node_gyp
  ? [process.execPath, process.env.npm_config_node_gyp]
  : existsSync(bundledNodeGyp)
    ? [process.execPath, bundledNodeGyp]
    : ['node-gyp'];

/** The headers of the running Node.js when installed beside it, so node-gyp downloads nothing. */
function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** Environment for node-gyp: PMG_WERROR=1 always (ours are dev/CI builds), plus `modes`. */
export function buildEnv(modes = {}) {
  const dir = nodedir();
  return {
    ...process.env,
    ...(dir ? { npm_config_nodedir: dir } : {}),
    PMG_WERROR: '1',
    ...modes,
  };
}

/** What a native build reads, relative to the repository (binding.gyp runs the script). */
const BUILD_INPUTS = ['binding.gyp', 'package.json', 'native', 'scripts/ebpf-build.mjs'];

/**
 * Copies the native build's inputs into `dir` and links node_modules there, for a build that
 * must leave build/ alone (prebuilds, the sanitizer build). `keepTimestamps`: copies keep
 * their sources' mtimes, so a `dir` kept between runs rebuilds only what changed.
 */
export function stageSources(dir, { keepTimestamps = false } = {}) {
  for (const f of BUILD_INPUTS) {
    rmSync(join(dir, f), { recursive: true, force: true });
    cpSync(join(root, f), join(dir, f), { recursive: true, preserveTimestamps: keepTimestamps });
  }
  const modules = join(dir, 'node_modules');
  let linked = false;
  try {
    linked = lstatSync(modules).isSymbolicLink();
  } catch {
    // absent
  }
  if (!linked) {
    rmSync(modules, { recursive: true, force: true });
    symlinkSync(join(root, 'node_modules'), modules);
  }
}
