// Where `watch` sends findings: stdout, file:PATH, syslog (local socket, udp://, tcp://) and
// webhook:URL. Every output takes lines without waiting (capture never blocks on an output),
// keeps a bounded queue, and counts what it delivered, failed to deliver, dropped and retried.
// A problem is reported once per incident (the first failure after a success), not per line.

import { closeSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import {
  type Output,
  type OutputCounters,
  type OutputOptions,
  QueuedOutput,
} from './queued-output.js';
import { hostPort, LocalSyslogOutput, TcpSyslogOutput, UdpSyslogOutput } from './syslog-outputs.js';

export { backoff } from './queued-output.js';
export { rfc5424 } from './syslog-outputs.js';
export type { Output, OutputCounters, OutputOptions };

export const OUTPUT_KINDS = [
  'stdout',
  'file:PATH',
  'syslog',
  'syslog:udp://HOST:PORT',
  'syslog:tcp://HOST:PORT',
  'webhook:URL',
];

/** Checks an output spec; throws an Error naming what is wrong. */
export function checkOutputSpec(spec: string): void {
  if (spec === 'stdout' || spec === 'syslog') return;
  if (spec.startsWith('file:')) {
    if (spec.length === 5) throw new Error(`output "${spec}": file: needs a path`);
    return;
  }
  if (spec.startsWith('syslog:')) {
    hostPort(spec, spec.slice(7), ['udp:', 'tcp:']);
    return;
  }
  if (spec.startsWith('webhook:')) {
    let url: URL;
    try {
      url = new URL(spec.slice(8));
    } catch {
      throw new Error(`output "${spec}": not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`output "${spec}": webhook needs an http:// or https:// URL`);
    return;
  }
  throw new Error(`unknown output "${spec}"; expected one of ${OUTPUT_KINDS.join(', ')}`);
}

export function createOutput(spec: string, stdout: Writable, options: OutputOptions): Output {
  checkOutputSpec(spec);
  if (spec === 'stdout') return new StreamOutput(spec, stdout, options);
  if (spec.startsWith('file:')) return new FileOutput(spec, spec.slice(5), options);
  if (spec === 'syslog') return new LocalSyslogOutput(spec, options);
  if (spec.startsWith('syslog:udp:')) return new UdpSyslogOutput(spec, options);
  if (spec.startsWith('syslog:tcp:')) return new TcpSyslogOutput(spec, options);
  return new WebhookOutput(spec, options);
}

/** stdout (or any stream): lines go straight to the stream; its buffer is the queue. */
class StreamOutput extends QueuedOutput {
  #bytesLimit: number;
  #dead = false;
  constructor(
    spec: string,
    private readonly stream: Writable,
    options: OutputOptions,
  ) {
    super(spec, options);
    this.#bytesLimit = this.limit * 2048;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#dead) return;
      this.#dead = true;
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') options.onClosed?.();
      else options.onFatal?.(err);
    });
  }

  override write(line: string): void {
    if (this.#dead || this.closing) return;
    if (this.stream.writableLength > this.#bytesLimit) {
      this.counters.dropped++;
      return;
    }
    this.stream.write(`${line}\n`);
    this.delivered(1);
  }
  protected pump(): void {}
  protected busy(): boolean {
    return !this.#dead && this.stream.writableLength > 0;
  }
  protected release(): void {}
}

/** file:PATH, appended to; SIGHUP re-opens it. Writes go through a small async loop. */
class FileOutput extends QueuedOutput {
  #fd = -1;
  #scheduled = false;
  constructor(
    spec: string,
    private readonly path: string,
    options: OutputOptions,
  ) {
    super(spec, options);
    this.#open();
  }
  #open(): void {
    try {
      this.#fd = openSync(this.path, 'a', 0o640);
    } catch (err) {
      this.#fd = -1;
      this.incident(err);
    }
  }
  override reopen(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#open();
    this.pump();
  }
  protected pump(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#fd < 0) this.#open();
      if (this.#fd < 0) return;
      const batch = this.take(this.queue.length);
      if (batch.length === 0) return;
      try {
        writeSync(this.#fd, `${batch.join('\n')}\n`);
        this.delivered(batch.length);
      } catch (err) {
        this.counters.failed += batch.length;
        this.incident(err);
      }
    });
  }
  protected busy(): boolean {
    return this.#scheduled || (this.#fd >= 0 && this.queue.length > 0);
  }
  protected release(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** webhook:URL: POSTs JSON-lines batches; retries a batch with backoff until it is taken. */
class WebhookOutput extends QueuedOutput {
  readonly #url: string;
  #inFlight: AbortController | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #attempt = 0;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
    this.#url = spec.slice(8);
  }
  protected pump(): void {
    if (this.#inFlight || this.#retryTimer || this.queue.length === 0) return;
    const batch = this.queue.slice(0, this.options.batchSize ?? 100);
    void this.#post(batch);
  }
  async #post(batch: string[]): Promise<void> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timer = setTimeout(
      () => controller.abort(new Error('request timed out')),
      this.options.timeoutMs ?? 5000,
    );
    let error: unknown = null;
    try {
      const res = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...this.options.headers },
        body: `${batch.join('\n')}\n`,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = new Error(`HTTP ${res.status} ${res.statusText}`);
    } catch (err) {
      error = (err as Error)?.cause ?? err;
    } finally {
      clearTimeout(timer);
      this.#inFlight = null;
    }
    if (error === null) {
      this.#attempt = 0;
      this.take(batch.length);
      this.delivered(batch.length);
      this.pump();
      return;
    }
    this.incident(error);
    if (this.closing) return;
    this.#retryTimer = this.retryLater(this.#attempt++, 500, 30_000, () => {
      this.#retryTimer = null;
      this.pump();
    });
  }
  protected override async closeOnce(deadline: number): Promise<void> {
    // One more attempt now for what is queued, instead of waiting out a backoff delay.
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.closing = true;
    while ((this.queue.length > 0 || this.#inFlight) && Date.now() < deadline) {
      if (!this.#inFlight) {
        const before = this.queue.length;
        await this.#post(this.queue.slice(0, this.options.batchSize ?? 100));
        if (this.queue.length === before) break; // failed while closing: give up
      } else await new Promise((r) => setTimeout(r, 10));
    }
    this.#inFlight?.abort();
    this.counters.failed += this.queue.length;
    this.take(this.queue.length);
  }
  protected busy(): boolean {
    return this.queue.length > 0 || this.#inFlight !== null;
  }
  protected release(): void {}
}
