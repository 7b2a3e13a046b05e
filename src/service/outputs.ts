// Where `watch` sends findings: stdout, file:PATH, syslog (local socket, udp://, tcp://) and
// webhook:URL. Every output takes lines without waiting (capture never blocks on an output),
// keeps a bounded queue, and counts what it delivered, failed to deliver, dropped and retried.
// A problem is reported once per incident (the first failure after a success), not per line.

import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, openSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';

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

function hostPort(spec: string, text: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`output "${spec}": expected udp://HOST:PORT or tcp://HOST:PORT`);
  }
  if (!protocols.includes(url.protocol) || !url.hostname || !url.port)
    throw new Error(`output "${spec}": expected udp://HOST:PORT or tcp://HOST:PORT`);
  return url;
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

/** Bounded queue, counters, and the once-per-incident report shared by every output. */
abstract class QueuedOutput implements Output {
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

const SYSLOG_HOST = hostname();

/** RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG; facility auth (4), warning (4). */
export function rfc5424(line: string, date = new Date()): string {
  return `<36>1 ${date.toISOString()} ${SYSLOG_HOST} procmem-guard ${process.pid} finding - ${line}`;
}

/**
 * syslog to the local socket. Node has no Unix datagram sockets, so the messages go through
 * one long-lived util-linux `logger` (absolute path, stdin one message a line), which sends
 * each line as an RFC 5424 datagram to the socket.
 */
class LocalSyslogOutput extends QueuedOutput {
  #child: ChildProcess | null = null;
  #waiting = false;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
  }
  #start(): ChildProcess | null {
    if (this.#child) return this.#child;
    const child = spawn(
      '/usr/bin/logger',
      [
        '--rfc5424=notq',
        '-u',
        this.options.syslogSocket ?? '/dev/log',
        '-d',
        '-p',
        'auth.warning',
        '-t',
        'procmem-guard',
        '--size',
        '65536',
        '--socket-errors=on',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    child.on('error', (err) => this.incident(err));
    child.stderr?.on('data', (d) => this.incident(new Error(`logger: ${String(d).trim()}`)));
    child.stdin?.on('error', (err) => this.incident(err));
    child.on('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    this.#child = child;
    return child;
  }
  protected pump(): void {
    if (this.#waiting) return;
    const child = this.#start();
    const stdin = child?.stdin;
    if (!stdin || stdin.destroyed) return;
    while (this.queue.length > 0) {
      const [line] = this.take(1);
      const ok = stdin.write(`${(line as string).replace(/\n/g, ' ')}\n`);
      this.delivered(1);
      if (!ok) {
        this.#waiting = true;
        stdin.once('drain', () => {
          this.#waiting = false;
          this.pump();
        });
        return;
      }
    }
  }
  protected busy(): boolean {
    return this.queue.length > 0 || (this.#child?.stdin?.writableLength ?? 0) > 0;
  }
  protected release(): void {
    const child = this.#child;
    this.#child = null;
    child?.stdin?.end();
  }
}

class UdpSyslogOutput extends QueuedOutput {
  readonly #url: URL;
  #socket: UdpSocket;
  #inFlight = 0;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
    this.#url = hostPort(spec, spec.slice(7), ['udp:']);
    const host = this.#url.hostname.replace(/^\[|\]$/g, '');
    this.#socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.on('error', (err) => this.incident(err));
  }
  protected pump(): void {
    const host = this.#url.hostname.replace(/^\[|\]$/g, '');
    for (const line of this.take(this.queue.length)) {
      this.#inFlight++;
      this.#socket.send(rfc5424(line), Number(this.#url.port), host, (err) => {
        this.#inFlight--;
        if (err) {
          this.counters.failed++;
          this.incident(err);
        } else this.delivered(1);
      });
    }
  }
  protected busy(): boolean {
    return this.#inFlight > 0 || this.queue.length > 0;
  }
  protected release(): void {
    this.#socket.close();
  }
}

/** syslog over TCP with RFC 6587 octet counting ("LEN MSG"); reconnects with backoff. */
class TcpSyslogOutput extends QueuedOutput {
  readonly #url: URL;
  #socket: Socket | null = null;
  #connected = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #attempt = 0;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
    this.#url = hostPort(spec, spec.slice(7), ['tcp:']);
  }
  #connect(): void {
    if (this.#socket || this.#retryTimer) return;
    const socket = connect({
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.#url.port),
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#attempt = 0;
      this.pump();
    });
    socket.on('error', (err) => this.incident(err));
    socket.on('close', () => {
      this.#socket = null;
      this.#connected = false;
      if (this.closing) return;
      this.#retryTimer = this.retryLater(this.#attempt++, 200, 10_000, () => {
        this.#retryTimer = null;
        if (this.queue.length > 0) this.#connect();
      });
    });
  }
  protected pump(): void {
    if (!this.#connected) {
      if (this.queue.length > 0) this.#connect();
      return;
    }
    const socket = this.#socket as Socket;
    const batch = this.take(this.queue.length);
    if (batch.length === 0) return;
    const frames = batch.map((line) => {
      const msg = rfc5424(line);
      return `${Buffer.byteLength(msg)} ${msg}`;
    });
    // A line counts as delivered once the kernel took it; a reset later loses at most those.
    socket.write(frames.join(''), (err) => {
      if (err) this.counters.failed += batch.length;
      else this.delivered(batch.length);
    });
  }
  protected busy(): boolean {
    return this.queue.length > 0 || (this.#connected && (this.#socket?.writableLength ?? 0) > 0);
  }
  protected release(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#socket?.end();
    this.#socket?.destroy();
  }
}

/** Exponential backoff with full jitter: a random delay in [base·2^n / 2, base·2^n], capped. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
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
