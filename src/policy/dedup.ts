// Dedup: repeats of one key inside the window of the last emitted finding for that key fold
// into a count, and the next finding emitted for the key carries it (procmemGuard.repeats).
// Time is the event's own timestamp, so replay folds as live capture would have. A window
// starts when a finding is emitted; a finding more than a window away from that moment (either
// way, so a clock step back cannot hold a key folded) is emitted and starts the next one.
//
// Nothing is lost without a count: folded = carried + pending + evicted, always. The table
// holds at most maxKeys keys; making room evicts the key whose window started longest ago,
// and its pending count moves to `evicted`.

export interface DedupKey {
  signature: string;
  /** Opener executable, or `pid:<host pid>` when the capture could not name it. */
  opener: string;
  /** Target executable, or `path:<opened path>` when the event does not name it. */
  target: string;
  access: string;
  /** Annotations of the finding: annotated and plain findings are different streams. */
  exceptions: string;
}

export interface DedupStats {
  /** The window in milliseconds; null when the policy has no dedup. */
  windowMs: number | null;
  /** Findings folded into a count instead of being emitted. */
  folded: number;
  /** Folded findings counted in the `repeats` of a finding emitted later. */
  carried: number;
  /** Folded findings waiting for the next finding of their key (see pendingRepeats()). */
  pending: number;
  /** Folded findings whose key left the table before another finding could carry them. */
  evicted: number;
  /** Keys in the table now. */
  keys: number;
}

export interface PendingRepeats extends DedupKey {
  count: number;
}

interface Entry {
  key: DedupKey;
  /** The current window, in event time (ns): repeats strictly between these fold. */
  low: bigint;
  high: bigint;
  pending: number;
}

/** What offer() answers for a key the table does not hold: call insert(). */
export const NEW_KEY = -1;

export class DedupTable {
  private readonly entries = new Map<string, Entry>();
  private windowNs: bigint;
  private maxKeys: number;
  private readonly counts = { folded: 0, carried: 0, pending: 0, evicted: 0 };

  constructor(windowMs: number, maxKeys: number) {
    this.windowNs = BigInt(windowMs) * 1_000_000n;
    this.maxKeys = maxKeys;
  }

  /** A policy reload: keeps the keys and their counts, evicting beyond the new size. */
  resize(windowMs: number, maxKeys: number): void {
    const windowNs = BigInt(windowMs) * 1_000_000n;
    if (windowNs !== this.windowNs) {
      // Windows already open keep their start and take the new length.
      for (const entry of this.entries.values()) {
        const start = entry.low + this.windowNs;
        entry.low = start - windowNs;
        entry.high = start + windowNs;
      }
      this.windowNs = windowNs;
    }
    this.maxKeys = maxKeys;
    while (this.entries.size > maxKeys) this.evictOldest();
  }

  /**
   * A finding for `id` at event time `now`: undefined when it folds, NEW_KEY when the table
   * does not hold `id` (call insert), else the number of folded findings it carries (0 for
   * none). Comparisons only: no bigint is made on the folding path.
   */
  offer(id: string, now: bigint): number | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return NEW_KEY;
    if (now > entry.low && now < entry.high) {
      entry.pending++;
      this.counts.folded++;
      this.counts.pending++;
      return undefined;
    }
    const carried = entry.pending;
    this.counts.carried += carried;
    this.counts.pending -= carried;
    entry.pending = 0;
    entry.low = now - this.windowNs;
    entry.high = now + this.windowNs;
    // Re-insert: the Map's order is the order windows started, oldest first.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return carried;
  }

  /** Opens the first window of a key offer() answered NEW_KEY for. */
  insert(id: string, key: DedupKey, now: bigint): void {
    if (this.entries.size >= this.maxKeys) this.evictOldest();
    this.entries.set(id, { key, low: now - this.windowNs, high: now + this.windowNs, pending: 0 });
  }

  /** Everything still pending goes to `evicted` and the table empties (dedup turned off). */
  clear(): void {
    this.counts.evicted += this.counts.pending;
    this.counts.pending = 0;
    this.entries.clear();
  }

  stats(windowMs: number | null): DedupStats {
    return { windowMs, ...this.counts, keys: this.entries.size };
  }

  /** Keys with folded findings not yet carried, most folded first, at most `limit`. */
  pendingRepeats(limit: number): PendingRepeats[] {
    const out: PendingRepeats[] = [];
    for (const entry of this.entries.values())
      if (entry.pending > 0) out.push({ ...entry.key, count: entry.pending });
    return out.sort((a, b) => b.count - a.count).slice(0, limit);
  }

  private evictOldest(): void {
    const first = this.entries.entries().next();
    if (first.done) return;
    const [id, entry] = first.value;
    this.entries.delete(id);
    this.counts.evicted += entry.pending;
    this.counts.pending -= entry.pending;
  }
}
