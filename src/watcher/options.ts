// ProcMemWatcher's options, checked in TypeScript before anything reaches the addon: a wrong
// type is a TypeError, a number out of range a RangeError, each naming the option.
import { checkEnforceOption } from '../guard/mode.js';
import type { ProcMemWatcherOptions } from './watcher.js';

export type BackendName = 'ebpf' | 'fanotify' | 'audit';
/** What `options.backend` accepts; 'auto' tries ebpf, then fanotify, then audit. */
export const BACKEND_CHOICES = ['auto', 'ebpf', 'fanotify', 'audit'] as const;
/** The order 'auto' tries the backends in: the first that starts is used. */
export const AUTO_ORDER: readonly BackendName[] = ['ebpf', 'fanotify', 'audit'];
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** The ring's capacity in records: what the addon accepts (it rounds up to a power of two). */
export const RING_CAPACITY_RANGE = [1, 32768] as const;

const describe = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : typeof v;

/** Throws a TypeError or RangeError naming the first option that is wrong. */
export function checkWatcherOptions(options: unknown): asserts options is ProcMemWatcherOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`ProcMemWatcher options must be an object, got ${describe(options)}`);
  const o = options as Record<string, unknown>;
  if (o.backend !== undefined && !(BACKEND_CHOICES as readonly unknown[]).includes(o.backend)) {
    throw new TypeError(
      `unknown backend ${describe(o.backend)} (use ${BACKEND_CHOICES.join(', ')})`,
    );
  }
  if (o.signatures !== undefined && !Array.isArray(o.signatures))
    throw new TypeError(`options.signatures must be an array, got ${describe(o.signatures)}`);
  if (o.builtinSignatures !== undefined && typeof o.builtinSignatures !== 'boolean') {
    throw new TypeError(
      `options.builtinSignatures must be a boolean, got ${describe(o.builtinSignatures)}`,
    );
  }
  if (o.ringCapacity !== undefined) {
    if (typeof o.ringCapacity !== 'number')
      throw new TypeError(`options.ringCapacity must be a number, got ${describe(o.ringCapacity)}`);
    const [min, max] = RING_CAPACITY_RANGE;
    if (!Number.isInteger(o.ringCapacity) || o.ringCapacity < min || o.ringCapacity > max) {
      throw new RangeError(
        `options.ringCapacity must be a whole number from ${min} to ${max}, got ${o.ringCapacity}`,
      );
    }
  }
  if (o.observeIo !== undefined && typeof o.observeIo !== 'boolean')
    throw new TypeError(`options.observeIo must be a boolean, got ${describe(o.observeIo)}`);
  checkEnforceOption(o.enforce, 'options.enforce');
  // Guard mode kills what TRC-1023 and TRC-1024 would report: every kill must be a finding.
  if (o.enforce !== undefined && o.enforce !== false && o.builtinSignatures === false)
    throw new TypeError('options.enforce needs the built-in signatures (builtinSignatures: true)');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new TypeError(`options.signal must be an AbortSignal, got ${describe(o.signal)}`);
}
