// The package as consumers load it: the built ESM entry, also through require() from CommonJS.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('package entry', () => {
  it('loads from CommonJS with require() (Node >= 20.19)', () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const m = require(${JSON.stringify(entry)}); console.log(typeof m.ProcMemWatcher, typeof m.replay, typeof m.SignatureEngine)`,
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function function function');
  });
});
