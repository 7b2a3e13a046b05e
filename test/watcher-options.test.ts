// ProcMemWatcher checks its options in TypeScript, before the addon is loaded or called: a
// wrong type is a TypeError and a number out of range a RangeError, each naming the option.
import { describe, expect, it } from 'vitest';
import { ProcMemWatcher } from '../src/watcher/watcher.js';

const make = (options: unknown) => () => new ProcMemWatcher(options as never);

describe('ProcMemWatcher options', () => {
  it('rejects an unknown backend with a TypeError naming it', () => {
    expect(make({ backend: 'bpf' })).toThrow(TypeError);
    expect(make({ backend: 'bpf' })).toThrow(
      /unknown backend "bpf" \(use auto, ebpf, fanotify, audit\)/,
    );
  });

  it.each([
    [null, /options must be an object, got null/],
    [{ signatures: 'TRC-1023' }, /options.signatures must be an array/],
    [{ builtinSignatures: 'no' }, /options.builtinSignatures must be a boolean/],
    [{ ringCapacity: '4096' }, /options.ringCapacity must be a number, got "4096"/],
    [{ signal: {} }, /options.signal must be an AbortSignal/],
    [{ observeIo: 1 }, /options.observeIo must be a boolean, got number/],
  ])('rejects %j with a TypeError', (options, message) => {
    expect(make(options)).toThrow(TypeError);
    expect(make(options)).toThrow(message);
  });

  it.each([0, -1, 65537, 1.5, Number.NaN])('rejects ringCapacity %d with a RangeError', (n) => {
    expect(make({ ringCapacity: n })).toThrow(RangeError);
    expect(make({ ringCapacity: n })).toThrow(
      /options.ringCapacity must be a whole number from 1 to 32768/,
    );
  });

  it('accepts every documented option', () => {
    for (const backend of ['auto', 'ebpf', 'fanotify', 'audit'])
      expect(
        make({ backend, ringCapacity: 16, builtinSignatures: false, signatures: [] }),
      ).not.toThrow();
    expect(make({ signal: new AbortController().signal, ringCapacity: 32768 })).not.toThrow();
    expect(make({ observeIo: true })).not.toThrow();
    expect(make(undefined)).not.toThrow();
  });
});
