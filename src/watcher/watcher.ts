// ProcMemWatcher: the public live API. Owns one native capture (ebpf, fanotify or audit), drains its
// ring on every wake-up, turns records into Tracee security_file_open events, runs the
// signature engine and re-emits everything as typed events.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { RecordKind } from '../capture/record.js';
import { LOSS_CAUSES, type LossCause, type LossCounters, RingReader } from '../capture/ring.js';
import { recordToEvent, recordToIoEvent } from '../capture/to-event.js';
import { SignatureEngine } from '../engine/engine.js';
import type { ProcMemIoEvent } from '../events/proc-mem-io.js';
import type { SecurityFileOpenEvent } from '../events/types.js';
import { type EnforcementStats, Guard } from '../guard/guard.js';
import type { EnforceOption } from '../guard/mode.js';
import { loadNative, type NativeCapture } from '../native.js';
import type { PendingRepeats } from '../policy/dedup.js';
import type { PolicyStats } from '../policy/filter.js';
import { toPolicy } from '../policy/load.js';
import type { Policy, PolicySpec } from '../policy/types.js';
import { builtinSignatures } from '../signatures/index.js';
import type { Finding, Signature } from '../signatures/signature.js';
import { CaptureError, toCaptureError } from './errors.js';
import { IoFates } from './io-fate.js';
import {
  AUTO_ORDER,
  type BackendChoice,
  type BackendName,
  checkWatcherOptions,
} from './options.js';

export {
  AUTO_ORDER,
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendName,
  RING_CAPACITY_RANGE,
} from './options.js';

/** Why events were lost (native LossCause, native/record.h). */
export type LossReason = LossCause;

export interface LostReport {
  /** 'ring' when JavaScript fell behind; otherwise the kernel-side backend. */
  source: 'ring' | BackendName;
  count: number;
  reason: LossReason;
}

export interface ProcMemWatcherOptions {
  /** Capture backend. 'auto' (default) tries ebpf, then fanotify, then audit. */
  backend?: BackendChoice;
  /** Extra signatures, run beside the built-in ones. */
  signatures?: Signature[];
  /** Run TRC-1023 and TRC-1024 (default true). */
  builtinSignatures?: boolean;
  /** Ring capacity in records (2 KiB each), 1 to 32768, rounded up to a power of two (default 4096, 8 MiB). */
  ringCapacity?: number;
  /** Aborting stops the watcher. */
  signal?: AbortSignal;
  /**
   * Exceptions and dedup for findings: a policy file's path (read at construction), a Policy
   * (loadPolicy, parsePolicy) or a plain object in the file's shape. An invalid one throws a
   * PolicyError from the constructor. Replace it later with setPolicy().
   */
  policy?: string | Policy | PolicySpec;
  /**
   * Guard mode (README "Guard mode"): true kills, at the open, every opener of another
   * process's mem file that no exception of the policy allows; 'dry-run' only marks the
   * findings 'would-kill'. eBPF backend only ('auto' then tries nothing else); the policy must
   * be decidable in the kernel (else a PolicyError). Default false.
   */
  enforce?: EnforceOption;
  /**
   * Observed access (eBPF and fanotify backends): follow each reported open with an 'io'
   * event (proc_mem_io) once it is closed: its reads, writes and bytes (fanotify: events seen,
   * a lower bound of the calls, bytes unknown). Off by default: on eBPF, while on, every read
   * and write syscall on the host runs a BPF program; fanotify marks only the tracked files
   * (README "Observed access").
   */
  observeIo?: boolean;
}

export interface WatcherStats {
  backend: BackendName | null;
  /** Why this backend was chosen (or why the first choice failed). */
  backendReason: string;
  running: boolean;
  /** Events the backend read from the kernel (all procfs opens for fanotify). */
  eventsSeen: number;
  /** Events dropped on purpose in native code (not a mem file, our own reads). */
  filtered: number;
  /** security_file_open events emitted to JavaScript. */
  emitted: number;
  findings: number;
  /** Findings by signature id. */
  findingsBySignature: Record<string, number>;
  signatureErrors: number;
  /** Records waiting in the ring now, and its capacity (0 when stopped). */
  ringFill: number;
  ringCapacity: number;
  /** Date.now() of the last drain of the ring, or of start(); null before the first start. */
  lastDrainAt: number | null;
  lost: LossCounters & { total: number };
  /** Raw native counters of the backend and the process table. */
  native: Record<string, number>;
  /** Suppressions and annotations by exception name, and dedup counts (docs/api.md). */
  policy: PolicyStats;
  /** Guard mode: its mode, kills and would-kills counted in the kernel (docs/api.md). */
  enforcement: EnforcementStats;
  /** Observed access (proc_mem_io, eBPF and fanotify backends): see IoStats. */
  io: IoStats;
}

/** Observed access: what the openers of mem files did with them (docs/api.md). */
export interface IoStats {
  /**
   * Tracking runs: the observeIo option, on the eBPF backend with its programs attached, or on
   * the fanotify backend.
   */
  on: boolean;
  /** proc_mem_io events emitted. */
  summaries: number;
  /**
   * Summaries not emitted because a suppress exception of the policy dropped every finding of
   * their open (they follow their open's findings; annotate marks are carried over).
   */
  suppressed: number;
  /** Opens tracked (eBPF: by the kernel; fanotify: their file marked). */
  tracked: number;
  /**
   * Summaries that will not come: opens not tracked because the tracking map (fanotify: its
   * table) was full, and summaries the kernel could not send (its io ring buffer was full).
   * Also in lost.ioSummaryLost.
   */
  lostTracking: number;
}

export interface ProcMemWatcherEvents {
  event: [SecurityFileOpenEvent];
  /** What the opener of a reported mem file did with it, once it closed it or exited. */
  io: [ProcMemIoEvent];
  finding: [Finding];
  lost: [LostReport];
  error: [Error];
}

/** The eBPF backend's attach points in use, from its native counters ('' for other backends). */
export function ebpfAttachPoints(native: Record<string, number>): string {
  const points = [
    native.attach_syscall_tracepoints
      ? 'tracepoints syscalls/sys_exit_open, sys_exit_openat, sys_exit_openat2'
      : '',
    native.attach_sys_exit ? 'tp_btf/sys_exit (open, openat, openat2)' : '',
    native.attach_io_uring_complete ? 'tp_btf/io_uring_complete (IORING_OP_OPENAT/OPENAT2)' : '',
  ];
  return points.filter(Boolean).join(', ');
}

/** In guard mode, any failure to start means nothing would be enforced: ENFORCE_UNAVAILABLE. */
function guardFailure(err: CaptureError, guard: Guard): CaptureError {
  if (!guard.on || err.code === 'ENFORCE_UNAVAILABLE') return err;
  return new CaptureError(
    'ENFORCE_UNAVAILABLE',
    `guard mode (${guard.mode}) needs the eBPF backend, which could not start (${err.code}): ${err.message}`,
    err.backend,
  );
}

/** Why 'auto' ended up with `backend`: every earlier backend's failure, in order. */
function autoReason(backend: BackendName, failures: CaptureError[]): string {
  const failed = failures.map((f) => `${f.backend} failed (${f.code}: ${f.message})`);
  return `auto: ${[...failed, `using ${backend}`].join('; ')}`;
}

function zeroLosses(): WatcherStats['lost'] {
  return Object.assign(Object.fromEntries(LOSS_CAUSES.map((r) => [r, 0])), {
    total: 0,
  }) as WatcherStats['lost'];
}

export class ProcMemWatcher extends EventEmitter<ProcMemWatcherEvents> {
  readonly #options: ProcMemWatcherOptions;
  readonly #engine: SignatureEngine;
  readonly #guard: Guard;
  readonly #hostName = hostname();
  #capture: NativeCapture | null = null;
  /**
   * The native capture of each backend that started once, reused by the next start(): each
   * holds a ring of ringCapacity KiB that only garbage collection frees (two collections after
   * the capture became unreachable), so a new one per start() let a process that starts and
   * stops often hold several (150 MB RSS measured, bench/soak.mjs).
   */
  readonly #captures = new Map<BackendName, NativeCapture>();
  #reader: RingReader | null = null;
  #lastLoss: LossCounters | null = null;
  #backend: BackendName | null = null;
  #backendReason = 'not started';
  #lastNative: Record<string, number> = {};
  #emitted = 0;
  #ioSummaries = 0;
  /** What the policy did to each open, for its proc_mem_io summary (io-fate.ts). */
  readonly #ioFates = new IoFates();
  #findings = 0;
  #findingsBySignature: Record<string, number> = {};
  #lastDrainAt: number | null = null;
  #signatureErrors = 0;
  #lost = zeroLosses();
  #starting: Promise<void> | null = null;
  #onAbort = () => {
    void this.stop();
  };

  /** Throws a TypeError or RangeError for an option of the wrong type or out of range. */
  constructor(options: ProcMemWatcherOptions = {}) {
    super();
    checkWatcherOptions(options);
    this.#options = options;
    const policy = options.policy === undefined ? null : toPolicy(options.policy);
    this.#guard = new Guard(options.enforce, policy);
    this.#engine = new SignatureEngine({
      signatures: [
        ...(options.builtinSignatures === false ? [] : builtinSignatures()),
        ...(options.signatures ?? []),
      ],
      policy,
    });
    this.#engine.on('finding', (f) => {
      this.#ioFates.delivered(f);
      this.#findings++;
      const id = f.sigMetadata.ID;
      this.#findingsBySignature[id] = (this.#findingsBySignature[id] ?? 0) + 1;
      this.emit('finding', f);
    });
    this.#engine.on('suppressed', (_f, exception) => this.#ioFates.suppressedBy(exception));
    this.#engine.on('error', (err) => {
      this.#signatureErrors++;
      this.#emitError(err);
    });
  }

  get running(): boolean {
    return this.#capture !== null;
  }

  /**
   * Replaces the policy (null: none) for findings from now on; a path is read now. Throws a
   * PolicyError and keeps the policy in use when the new one is invalid.
   */
  setPolicy(policy: string | Policy | PolicySpec | null): void {
    const next = policy === null ? null : toPolicy(policy, 'policy');
    // Guard mode first: a policy the kernel cannot enforce changes nothing.
    this.#guard.setPolicy(next, this.#capture);
    this.#engine.setPolicy(next);
  }

  /** Dedup keys whose folded findings no later finding has carried yet, most first. */
  pendingRepeats(limit = 20): PendingRepeats[] {
    return this.#engine.pendingRepeats(limit);
  }

  /** Starts capture. Resolves once an open made from now on will be reported. */
  start(): Promise<void> {
    if (this.#capture) return Promise.resolve();
    if (this.#starting) return this.#starting;
    this.#starting = this.#start().finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const signal = this.#options.signal;
    if (signal?.aborted)
      throw new DOMException('start() called with an aborted signal', 'AbortError');
    const choice: BackendChoice = this.#options.backend ?? 'auto';
    let native: ReturnType<typeof loadNative>;
    try {
      native = loadNative();
    } catch (err) {
      throw new CaptureError('NATIVE_MISSING', (err as Error).message);
    }
    // Guard mode: only the eBPF backend can stop an open; 'auto' falls back to nothing.
    const order: readonly BackendName[] =
      choice === 'auto' ? (this.#guard.on ? ['ebpf'] : AUTO_ORDER) : [choice];
    const failures: CaptureError[] = [];
    for (const backend of order) {
      const capture =
        this.#captures.get(backend) ??
        native.createCapture({
          backend,
          ringCapacity: this.#options.ringCapacity ?? 4096,
          observeIo: this.#options.observeIo ?? false,
          onWake: () => this.#drain(),
          // One prefix: the backend's name (the CLI adds the program's); the eBPF backend's own
          // messages say "eBPF backend: ...".
          onWarn: (msg: string) =>
            this.#emitError(
              new Error(msg.toLowerCase().startsWith(backend) ? msg : `${backend}: ${msg}`),
            ),
        });
      try {
        this.#guard.configure(capture);
        capture.start();
      } catch (err) {
        failures.push(guardFailure(toCaptureError(err, backend), this.#guard));
        continue;
      }
      this.#captures.set(backend, capture);
      this.#capture = capture;
      this.#reader = new RingReader(capture.ring);
      this.#lastLoss = this.#reader.losses();
      this.#backend = backend;
      this.#lastDrainAt = Date.now();
      this.#backendReason =
        choice === 'auto' ? autoReason(backend, failures) : `requested ${backend}`;
      if (backend === 'ebpf')
        this.#backendReason += `; attached at ${ebpfAttachPoints(capture.stats()) || 'nothing'}`;
      signal?.addEventListener('abort', this.#onAbort, { once: true });
      return;
    }
    const first = failures[0] as CaptureError;
    this.#backendReason = failures.map((f) => `${f.backend}: ${f.code}`).join('; ');
    if (failures.length === 1) throw first;
    throw new CaptureError(
      first.code,
      `no capture backend could start:\n${failures.map((f) => `  ${f.backend}: ${f.message}`).join('\n')}`,
      first.backend,
    );
  }

  /** Stops capture and releases every kernel object; delivers what was still queued. */
  async stop(): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => undefined);
    const capture = this.#capture;
    if (!capture) return;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    try {
      capture.stop();
    } finally {
      this.#drain();
      this.#lastNative = capture.stats();
      this.#capture = null;
      this.#reader = null;
    }
  }

  stats(): WatcherStats {
    const native = this.#capture ? this.#capture.stats() : this.#lastNative;
    const filtered = Object.entries(native)
      .filter(([k]) => k.startsWith('filtered'))
      .reduce((a, [, v]) => a + v, 0);
    return {
      backend: this.#backend,
      backendReason: this.#backendReason,
      running: this.running,
      eventsSeen: native.events_read ?? 0,
      filtered,
      emitted: this.#emitted,
      findings: this.#findings,
      findingsBySignature: { ...this.#findingsBySignature },
      signatureErrors: this.#signatureErrors,
      ringFill: this.#reader?.available() ?? 0,
      ringCapacity: this.#reader?.capacity ?? 0,
      lastDrainAt: this.#lastDrainAt,
      lost: { ...this.#lost },
      native,
      policy: this.#engine.policyStats(),
      enforcement: this.#guard.stats(native),
      io: {
        on: (native.io_tracking ?? 0) === 1,
        summaries: this.#ioSummaries,
        suppressed: this.#ioFates.suppressed,
        tracked: native.io_tracked ?? 0,
        lostTracking: (native.io_untracked ?? 0) + (native.io_events_lost ?? 0),
      },
    };
  }

  /** Reads everything in the ring; called once per native wake-up. */
  #drain(): void {
    const reader = this.#reader;
    if (!reader) return;
    this.#lastDrainAt = Date.now();
    reader.drain((rec) => {
      if (rec.recordKind === RecordKind.ioSummary) {
        // A follow-up of an open already reported: not run through the signatures, but it
        // goes where the policy sent its open's findings.
        const io = this.#ioFates.apply(recordToIoEvent(rec, this.#hostName));
        if (io === undefined) return;
        this.#ioSummaries++;
        this.emit('io', io);
        return;
      }
      const event = recordToEvent(rec, this.#hostName);
      this.#emitted++;
      this.emit('event', event);
      if (!this.#options.observeIo) {
        this.#engine.dispatch(event);
        return;
      }
      this.#ioFates.begin(event);
      try {
        this.#engine.dispatch(event);
      } finally {
        this.#ioFates.end();
      }
    });
    this.#reportLosses(reader);
  }

  #reportLosses(reader: RingReader): void {
    const now = reader.losses();
    const last = this.#lastLoss;
    this.#lastLoss = now;
    if (!last) return;
    for (const reason of LOSS_CAUSES) {
      const delta = now[reason] - last[reason];
      if (delta <= 0) continue;
      this.#lost[reason] += delta;
      this.#lost.total += delta;
      const source = reason === 'ringFull' ? 'ring' : (this.#backend ?? 'fanotify');
      this.emit('lost', { source, count: delta, reason });
    }
  }

  // 'error' without a listener would throw from inside a native callback; only emit if heard.
  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(err.message, 'ProcMemGuardWarning');
  }
}
