import { describe, expect, it, vi } from 'vitest';
import { eventOrigin, SignatureEngine, SignatureError } from '../src/engine/index.js';
import type { TraceeEvent } from '../src/events/types.js';
import type {
  Finding,
  Signature,
  SignatureEventSelector,
  SignatureMetadata,
} from '../src/signatures/signature.js';
import { openEvent } from './helpers.js';

function metadata(id: string): SignatureMetadata {
  return {
    ID: id,
    Version: '1',
    Name: id,
    EventName: id.toLowerCase(),
    Description: 'test',
    Properties: {
      Severity: 1,
      Category: 'test',
      Technique: 'test',
      Kubernetes_Technique: '',
      id: 'x',
      external_id: 'x',
    },
  };
}

/** A signature that records what it sees and can be told to report or throw. */
class Probe implements Signature {
  seen: TraceeEvent[] = [];
  private report?: (finding: Finding) => void;
  constructor(
    private readonly id: string,
    private readonly selectors: SignatureEventSelector[],
    private readonly behaviour: 'report' | 'throw' | 'report-then-throw' = 'report',
  ) {}
  getMetadata() {
    return metadata(this.id);
  }
  getSelectedEvents() {
    return this.selectors;
  }
  init(ctx: { callback(finding: Finding): void }) {
    this.report = ctx.callback;
  }
  onEvent(event: TraceeEvent) {
    this.seen.push(event);
    if (this.behaviour !== 'throw')
      this.report?.({ sigMetadata: metadata(this.id), event, data: { n: 1 } });
    if (this.behaviour !== 'report') throw new Error('boom');
  }
  onSignal() {}
  close() {}
}

const inContainer = (event: TraceeEvent): TraceeEvent => ({
  ...event,
  container: { id: 'c0ffee' },
  extra: { contextFlags: { containerStarted: true, isCompat: false } },
});

describe('SignatureEngine', () => {
  it('runs the built-in signatures by default', () => {
    const engine = new SignatureEngine();
    const findings: Finding[] = [];
    engine.on('finding', (finding) => findings.push(finding));
    expect(engine.signatureIds).toEqual(['TRC-1023', 'TRC-1024']);
    expect(engine.dispatch(openEvent({ flags: 0o2 }))).toBe(2);
    expect(findings.map((f) => f.sigMetadata.ID)).toEqual(['TRC-1023', 'TRC-1024']);
  });

  it('routes by event name and origin', () => {
    const byName = new Probe('A', [{ source: 'tracee', name: 'openat', origin: '*' }]);
    const hostOnly = new Probe('B', [
      { source: 'tracee', name: 'security_file_open', origin: 'host' },
    ]);
    const containerOnly = new Probe('C', [{ source: 'tracee', name: '*', origin: 'container' }]);
    const engine = new SignatureEngine({ signatures: [byName, hostOnly, containerOnly] });
    const host = openEvent({});
    const container = inContainer(openEvent({}));
    engine.dispatch(host);
    engine.dispatch(container);
    engine.dispatch(openEvent({ eventName: 'openat' }));
    expect(byName.seen.map((e) => e.eventName)).toEqual(['openat']);
    expect(hostOnly.seen).toEqual([host]);
    expect(containerOnly.seen).toEqual([container]);
  });

  it('derives the origin as Tracee does', () => {
    expect(eventOrigin(openEvent({}))).toBe('host');
    expect(eventOrigin({ ...openEvent({}), container: { id: 'abc' } })).toBe('container-init');
    expect(eventOrigin(inContainer(openEvent({})))).toBe('container');
  });

  it('takes user signatures beside the built-in ones', () => {
    const engine = new SignatureEngine();
    const mine = new Probe('USR-1', [
      { source: 'tracee', name: 'security_file_open', origin: '*' },
    ]);
    engine.register(mine);
    const ids: string[] = [];
    engine.on('finding', (f) => ids.push(f.sigMetadata.ID));
    engine.dispatch(openEvent({}));
    expect(ids).toEqual(['TRC-1023', 'USR-1']);
    expect(() => engine.register(new Probe('USR-1', []))).toThrow(/already registered/);
  });

  it('reports a throwing signature with its id and keeps running the others', () => {
    const select: SignatureEventSelector[] = [
      { source: 'tracee', name: 'security_file_open', origin: '*' },
    ];
    const bad = new Probe('BAD', select, 'report-then-throw');
    const worse = new Probe('WORSE', select, 'throw');
    const good = new Probe('GOOD', select);
    const engine = new SignatureEngine({ signatures: [bad, worse, good] });
    const errors: SignatureError[] = [];
    const findings: string[] = [];
    engine.on('error', (e) => errors.push(e));
    engine.on('finding', (f) => findings.push(f.sigMetadata.ID));
    engine.dispatch(openEvent({}));
    engine.dispatch(openEvent({}));
    expect(errors.map((e) => e.signatureId)).toEqual(['BAD', 'WORSE', 'BAD', 'WORSE']);
    expect(errors[0]).toBeInstanceOf(SignatureError);
    expect(errors[0]?.message).toBe('signature BAD failed in onEvent: boom');
    expect(errors[0]?.event?.eventName).toBe('security_file_open');
    expect(findings).toEqual(['BAD', 'GOOD', 'BAD', 'GOOD']);
    expect(engine.stats).toEqual({ events: 2, findings: 4, signatureErrors: 4 });
  });

  it('does not throw when nobody listens for errors', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const engine = new SignatureEngine({
      signatures: [new Probe('BAD', [{ source: 'tracee', name: '*', origin: '*' }], 'throw')],
    });
    expect(() => engine.dispatch(openEvent({}))).not.toThrow();
    expect(warn).toHaveBeenCalledWith('signature BAD failed in onEvent: boom', 'SignatureError');
    warn.mockRestore();
  });

  it('lets an exception from a finding listener reach the caller', () => {
    const engine = new SignatureEngine();
    engine.on('finding', () => {
      throw new Error('listener bug');
    });
    const errors: unknown[] = [];
    engine.on('error', (e) => errors.push(e));
    expect(() => engine.dispatch(openEvent({}))).toThrow('listener bug');
    expect(errors).toEqual([]);
  });
});
