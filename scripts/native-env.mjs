// The environment of the project's own native builds (scripts/build-native.mjs, the dev and CI
// build, and scripts/prebuilds.mjs): node-gyp, the Node.js headers without a download, and the
// build modes of binding.gyp. A consumer's fallback source build (node-gyp-build's
// `node-gyp rebuild` at install) uses none of this: no -Werror, no static libstdc++.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** node-gyp as npm runs it (npm sets npm_config_node_gyp), else the one on PATH. */
export const nodeGyp = process.env.npm_config_node_gyp
  ? [process.execPath, process.env.npm_config_node_gyp]
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
