// Routes events to the signatures that selected them and collects their findings. One
// signature's exception is reported as a SignatureError and never stops the engine or the
// other signatures. With a policy, findings pass its exceptions and dedup (src/policy) before
// they are delivered.

import { EventEmitter } from 'node:events';
import type { TraceeEvent } from '../events/types.js';
import type { PendingRepeats } from '../policy/dedup.js';
import { PolicyFilter, type PolicyStats } from '../policy/filter.js';
import { requireSignatures } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { builtinSignatures } from '../signatures/index.js';
import type {
  EventOrigin,
  Finding,
  Signal,
  Signature,
  SignatureEventSelector,
} from '../signatures/signature.js';

/** A signature failed: which one, doing what, and on which event. */
export class SignatureError extends Error {
  override name = 'SignatureError';
  constructor(
    readonly signatureId: string,
    readonly phase: 'init' | 'onEvent' | 'onSignal' | 'close',
    override readonly cause: unknown,
    readonly event?: TraceeEvent,
  ) {
    super(
      `signature ${signatureId} failed in ${phase}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

export interface SignatureEngineEvents {
  finding: [finding: Finding];
  /** A finding that a suppress exception of the policy dropped, and the exception's name. */
  suppressed: [finding: Finding, exception: string];
  error: [error: SignatureError];
}

export interface SignatureEngineOptions {
  /** Signatures to start with; the built-in ones (TRC-1023, TRC-1024) when omitted. */
  signatures?: Signature[];
  /** Exceptions and dedup applied to findings (loadPolicy, parsePolicy, policyFromObject). */
  policy?: Policy | null;
}

interface Route {
  signature: Signature;
  id: string;
  origin: EventOrigin | '*';
}

/** Where an event happened, as Tracee's trace.Event.Origin() derives it. */
export function eventOrigin(event: TraceeEvent): EventOrigin {
  const flags = event.extra?.contextFlags;
  if (typeof flags === 'object' && flags !== null && !Array.isArray(flags)) {
    if (flags.containerStarted === true) return 'container';
  }
  return event.container.id || event.containerId ? 'container-init' : 'host';
}

export class SignatureEngine extends EventEmitter<SignatureEngineEvents> {
  private readonly byName = new Map<string, Route[]>();
  private readonly anyName: Route[] = [];
  private readonly registered = new Map<string, Signature>();
  private pending: Finding[] = [];
  /** A signature is running: its findings wait until it returns (see run()). */
  private inSignature = false;
  /** Findings delivered and signature errors reported so far. */
  readonly stats = { events: 0, findings: 0, signatureErrors: 0 };
  /** Made on the first policy; without one, findings go straight to the listeners. */
  private filter: PolicyFilter | null = null;

  constructor(options: SignatureEngineOptions = {}) {
    super();
    for (const signature of options.signatures ?? builtinSignatures()) this.register(signature);
    if (options.policy) this.setPolicy(options.policy);
  }

  /**
   * Applies `policy` to the findings from now on (null: none). Counts by exception name and
   * pending dedup counts carry over (PolicyFilter.setPolicy). Throws a PolicyError, keeping
   * the policy in use, when it names a signature that is not registered.
   */
  setPolicy(policy: Policy | null): void {
    if (policy !== null) requireSignatures(policy, this.signatureIds);
    if (policy === null && this.filter === null) return;
    this.filter ??= new PolicyFilter(null, (finding, exception) =>
      this.emit('suppressed', finding, exception),
    );
    this.filter.setPolicy(policy);
  }

  /** Suppressions, annotations and dedup counts (all zero when no policy was ever set). */
  policyStats(): PolicyStats {
    return (this.filter ?? new PolicyFilter()).stats();
  }

  /** Dedup keys whose folded findings wait for a later finding to carry them. */
  pendingRepeats(limit?: number): PendingRepeats[] {
    return this.filter?.pendingRepeats(limit) ?? [];
  }

  /** Adds a signature. Throws if its id is taken or its metadata/init fails. */
  register(signature: Signature): void {
    const { ID } = signature.getMetadata();
    if (this.registered.has(ID)) throw new Error(`a signature with ID ${ID} is already registered`);
    const selectors: SignatureEventSelector[] = signature.getSelectedEvents();
    try {
      signature.init({ callback: (finding) => this.accept(finding) });
    } catch (err) {
      throw new SignatureError(ID, 'init', err);
    }
    this.registered.set(ID, signature);
    for (const selector of selectors) {
      if (selector.source !== 'tracee' && selector.source !== '*') continue;
      const route: Route = { signature, id: ID, origin: selector.origin };
      if (selector.name === '*') {
        this.anyName.push(route);
        continue;
      }
      const routes = this.byName.get(selector.name);
      if (routes) routes.push(route);
      else this.byName.set(selector.name, [route]);
    }
  }

  /** IDs of the registered signatures. */
  get signatureIds(): string[] {
    return [...this.registered.keys()];
  }

  /** Runs the event through every signature that selected it; returns the findings delivered. */
  dispatch(event: TraceeEvent): number {
    this.stats.events++;
    const routes = this.byName.get(event.eventName);
    let found = 0;
    if (routes !== undefined) found += this.run(routes, event);
    if (this.anyName.length > 0) found += this.run(this.anyName, event);
    return found;
  }

  /** Sends a lifecycle signal to every signature (e.g. end of input). */
  signal(signal: Signal): number {
    let found = 0;
    for (const [id, signature] of this.registered) {
      this.inSignature = true;
      try {
        signature.onSignal(signal);
      } catch (err) {
        this.reportError(new SignatureError(id, 'onSignal', err));
      } finally {
        this.inSignature = false;
      }
      found += this.flush();
    }
    return found;
  }

  /** Closes every signature; errors are reported, not thrown. */
  close(): void {
    for (const [id, signature] of this.registered) {
      try {
        signature.close();
      } catch (err) {
        this.reportError(new SignatureError(id, 'close', err));
      }
    }
    this.registered.clear();
    this.byName.clear();
    this.anyName.length = 0;
  }

  private run(routes: Route[], event: TraceeEvent): number {
    let found = 0;
    let origin: EventOrigin | undefined;
    for (const route of routes) {
      if (route.origin !== '*') {
        origin ??= eventOrigin(event);
        if (route.origin !== origin) continue;
      }
      this.inSignature = true;
      try {
        route.signature.onEvent(event);
      } catch (err) {
        this.reportError(new SignatureError(route.id, 'onEvent', err, event));
      } finally {
        this.inSignature = false;
      }
      // Findings are emitted after the signature returns, so that an exception thrown by a
      // 'finding' listener reaches the caller instead of being blamed on the signature.
      found += this.flush();
    }
    return found;
  }

  /** A signature reported a finding: hold it while the signature runs, else deliver now. */
  private accept(finding: Finding): void {
    if (this.inSignature) this.pending.push(finding);
    else this.deliver(finding);
  }

  private flush(): number {
    const findings = this.pending;
    if (findings.length === 0) return 0;
    this.pending = [];
    let delivered = 0;
    for (const finding of findings) delivered += this.deliver(finding);
    return delivered;
  }

  /** Through the policy, if any, to the listeners; 1 if delivered, 0 if suppressed or folded. */
  private deliver(finding: Finding): number {
    const out = this.filter === null ? finding : this.filter.apply(finding);
    if (out === undefined) return 0;
    this.stats.findings++;
    this.emit('finding', out);
    return 1;
  }

  private reportError(error: SignatureError): void {
    this.stats.signatureErrors++;
    // With no 'error' listener EventEmitter would throw; a signature bug must not stop us.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error.message, 'SignatureError');
  }
}
