import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/native.js';

describe('native addon', () => {
  it('loads and reports the running kernel', () => {
    const probe = loadNative().probe();
    expect(probe.kernel).toMatch(/^\d+\.\d+/);
    expect(probe.euid).toBe(process.geteuid?.());
  });
});
