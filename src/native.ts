// Loads the compiled addon. The only place that knows where node-gyp puts it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface NativeProbe {
  kernel: string;
  euid: number;
}

export interface NativeAddon {
  probe(): NativeProbe;
}

let cached: NativeAddon | undefined;

/** The addon, loaded once. Throws with a clear message if it was not built. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  try {
    cached = require('../build/Release/procmem_guard.node') as NativeAddon;
  } catch (err) {
    throw new Error(
      `procmem-guard: the native addon is not built (build/Release/procmem_guard.node): ${(err as Error).message}. Run "npm run build:native" on Linux.`,
    );
  }
  return cached;
}
