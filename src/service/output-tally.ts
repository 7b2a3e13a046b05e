// What each output spec has delivered, failed, dropped and retried since `watch` started. A
// SIGHUP replaces the outputs (a re-read configuration, re-opened files); the replaced ones
// keep counting while they drain. The Prometheus *_total series must never go backwards, so
// the counts of replaced outputs are folded in per spec instead of starting again from zero.

import type { Output, OutputCounters } from './queued-output.js';

/** One spec's counts: what the metrics and the final summary show. */
export interface OutputTotal {
  readonly spec: string;
  readonly counters: OutputCounters;
}

/** Adds `c` to the entry for `spec` in `by`, creating it at zero. */
function addTo(by: Map<string, OutputCounters>, spec: string, c: OutputCounters): void {
  let into = by.get(spec);
  if (!into) {
    into = { delivered: 0, failed: 0, dropped: 0, retried: 0, queued: 0 };
    by.set(spec, into);
  }
  into.delivered += c.delivered;
  into.failed += c.failed;
  into.dropped += c.dropped;
  into.retried += c.retried;
  into.queued += c.queued;
}

export class OutputTally {
  /** Closed outputs' final counts, by spec: bounded by the number of distinct specs. */
  readonly #closed = new Map<string, OutputCounters>();

  /** Folds in the counts of an output that has finished closing. */
  closed(output: Output): void {
    addTo(this.#closed, output.spec, { ...output.counters, queued: 0 });
  }

  /** Per spec, in first-seen order: closed outputs plus the live and draining ones given. */
  totals(open: readonly Output[]): OutputTotal[] {
    const by = new Map<string, OutputCounters>();
    for (const o of open) addTo(by, o.spec, o.counters);
    for (const [spec, c] of this.#closed) addTo(by, spec, c);
    return [...by].map(([spec, counters]) => ({ spec, counters }));
  }
}
