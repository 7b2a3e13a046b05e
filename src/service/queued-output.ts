// What every output of `watch` shares: the interfaces, a bounded queue with its counters, the
// once-per-incident report, and the backoff of the outputs that retry (tcp syslog, webhook).

export interface OutputCounters {
  /** Lines handed to the destination (written, sent, or acknowledged with 2xx). */
  delivered: number;
  /** Lines given up on after an error (and after the retries, for webhook). */
  failed: number;
  /** Lines dropped because the queue was full. */
  dropped: number;
  /** Retried attempts (webhook batches, tcp reconnects). */
  retried: number;
  /** Lines waiting now. */
  queued: number;
}

export interface OutputOptions {
  /** Lines the in-memory queue holds before it drops the newest (default 10000). */
  queueLimit?: number;
  /** HTTP headers for webhook (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Path of the local syslog socket (default /dev/log). */
  syslogSocket?: string;
  /** Webhook: lines per POST (default 100), first retry delay, its cap, request timeout. */
  batchSize?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
  /** Called once per incident with a message for standard error. */
  report: (message: string) => void;
  /** stdout: called when the reader went away (EPIPE), so watch can end quietly. */
  onClosed?: () => void;
  /** stdout: called on any other write error (ENOSPC, EIO). */
  onFatal?: (err: Error) => void;
}

export interface Output {
  readonly spec: string;
  readonly counters: OutputCounters;
  /** Queues one line (no newline); never blocks, never throws. */
  write(line: string): void;
  /** file: re-opens the path (logrotate's convention); others: nothing. */
  reopen(): void;
  /** Delivers what it can until `deadline` (Date.now() ms), then releases everything. */
  close(deadline: number): Promise<void>;
}

/** Bounded queue, counters, and the once-per-incident report shared by every output. */
export abstract class QueuedOutput implements Output {
  readonly counters: OutputCounters = {
    delivered: 0,
    failed: 0,
    dropped: 0,
    retried: 0,
    queued: 0,
  };
  protected readonly queue: string[] = [];
  protected readonly limit: number;
  #inIncident = false;
  #droppingReported = false;
  protected closing = false;

  constructor(
    readonly spec: string,
    protected readonly options: OutputOptions,
  ) {
    this.limit = options.queueLimit ?? 10_000;
  }

  write(line: string): void {
    if (this.closing) return;
    if (this.queue.length >= this.limit) {
      this.counters.dropped++;
      if (!this.#droppingReported) {
        this.#droppingReported = true;
        this.options.report(
          `output ${this.spec}: queue full (${this.limit} lines); dropping findings, counted`,
        );
      }
      return;
    }
    this.queue.push(line);
    this.counters.queued = this.queue.length;
    this.pump();
  }

  reopen(): void {}

  protected take(n: number): string[] {
    const batch = this.queue.splice(0, n);
    this.counters.queued = this.queue.length;
    return batch;
  }

  protected delivered(n: number): void {
    this.counters.delivered += n;
    if (this.#inIncident) {
      this.#inIncident = false;
      this.options.report(`output ${this.spec}: delivering again`);
    }
    if (this.queue.length < this.limit / 2) this.#droppingReported = false;
  }

  protected incident(err: unknown): void {
    if (this.#inIncident) return;
    this.#inIncident = true;
    this.options.report(`output ${this.spec}: ${(err as Error)?.message ?? String(err)}`);
  }

  /** Counts a retry and runs `then` after the backoff delay of `attempt` (options override). */
  protected retryLater(
    attempt: number,
    baseMs: number,
    maxMs: number,
    then: () => void,
  ): NodeJS.Timeout {
    this.counters.retried++;
    const delay = backoff(
      attempt,
      this.options.retryBaseMs ?? baseMs,
      this.options.retryMaxMs ?? maxMs,
    );
    return setTimeout(then, delay);
  }

  /** Starts delivering queued lines if not already doing so. */
  protected abstract pump(): void;
  /** True while something is queued or in flight. */
  protected abstract busy(): boolean;
  protected abstract release(): void;

  #closed: Promise<void> | null = null;

  /** Idempotent: a second call waits for the first. */
  close(deadline: number): Promise<void> {
    this.#closed ??= this.closeOnce(deadline);
    return this.#closed;
  }

  protected async closeOnce(deadline: number): Promise<void> {
    this.closing = true;
    this.pump();
    while (this.busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.counters.failed += this.queue.length;
    this.take(this.queue.length);
    this.release();
  }
}

/** Exponential backoff with full jitter: a random delay in [base·2^n / 2, base·2^n], capped. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
