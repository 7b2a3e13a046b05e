// The test-only addon, build/Release/procmem_guard_test.node (binding.gyp target
// procmem_guard_test, test/native/addon/): native code the tests drive directly, kept out of
// the production addon. `npm run build:native` builds it; the package never contains it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const testAddonPath = fileURLToPath(
  new URL('../../build/Release/procmem_guard_test.node', import.meta.url),
);

/** The test addon's exports; throws naming the build step when it was not built. */
export function loadTestAddon(): unknown {
  if (!existsSync(testAddonPath))
    throw new Error(`${testAddonPath} not found: run "npm run build:native" (PMG_TEST_ADDON=1)`);
  return require(testAddonPath);
}
