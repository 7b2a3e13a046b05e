// Which exceptions of a policy a finding matches. Within a list any entry matches, across
// fields all must; a condition on a field the event does not carry (target fields on replayed
// Tracee input, parentExe, an exe the capture truncated or could not read) does not match:
// nothing is guessed. Exceptions with only literal opener executables are indexed by that
// path, so a finding is tested against its own opener's exceptions and the unindexed rest.

import { isReadAccess, isWriteAccess } from '../events/open-flags.js';
import type { TargetInfo, TraceeEvent } from '../events/types.js';
import { isSecurityFileOpen } from '../events/types.js';
import { openFlagsOf } from '../signatures/procfs-mem.js';
import type { Finding } from '../signatures/signature.js';
import type { ExeGlob } from './glob.js';
import type { Policy, PolicyException } from './types.js';

const READ = 1;
const WRITE = 2;

/** What the matcher reads from a finding, each field once. */
export interface FindingFacts {
  signature: string;
  /** READ | WRITE bits the open grants; both when unknown (so only read+write exceptions match). */
  access: number;
  /** The opener's executable; undefined when empty or possibly truncated. */
  openerExe: string | undefined;
  comm: string;
  uid: number;
  parentExe: string | undefined;
  /** '' on the host. */
  containerId: string;
  target: TargetInfo | undefined;
  /** The target's executable, under the same rule as openerExe. */
  targetExe: string | undefined;
}

export function findingFacts(finding: Finding): FindingFacts {
  const event = finding.event;
  const mark = event.procmemGuard;
  // A cut path could match a glob the whole path would not (/opt/app/* against /opt/app/x...).
  const cut = mark?.notes?.includes('truncated') === true;
  const target = mark?.target;
  return {
    signature: finding.sigMetadata.ID,
    access: accessOf(event),
    openerExe: cut || event.executable.path === '' ? undefined : event.executable.path,
    comm: event.processName,
    uid: event.userId,
    parentExe: cut || !mark?.parentExe ? undefined : mark.parentExe,
    containerId: event.containerId || event.container.id || '',
    target,
    targetExe: cut || !target?.exe ? undefined : target.exe,
  };
}

/** Access bits from the open flags: O_RDONLY read, O_WRONLY write, O_RDWR both. */
export function accessOf(event: TraceeEvent): number {
  if (!isSecurityFileOpen(event)) return READ | WRITE;
  let flags: number;
  try {
    flags = openFlagsOf(event);
  } catch {
    return READ | WRITE;
  }
  const bits = (isReadAccess(flags) ? READ : 0) | (isWriteAccess(flags) ? WRITE : 0);
  return bits === 0 ? READ | WRITE : bits;
}

export function accessName(bits: number): string {
  return bits === READ ? 'read' : bits === WRITE ? 'write' : 'read-write';
}

type Test = (facts: FindingFacts) => boolean;

interface Compiled {
  index: number;
  exception: PolicyException;
  tests: Test[];
}

/** Matches of one finding: the first suppress exception, and every annotate one before it. */
export interface PolicyVerdict {
  suppressedBy: PolicyException | undefined;
  /** Names of matching annotate exceptions, in file order. */
  annotations: readonly string[];
}

const NO_MATCH: PolicyVerdict = Object.freeze({ suppressedBy: undefined, annotations: [] });

export class PolicyMatcher {
  private readonly byExe = new Map<string, Compiled[]>();
  private readonly unindexed: Compiled[] = [];

  constructor(readonly policy: Policy) {
    policy.exceptions.forEach((exception, index) => {
      const compiled = { index, exception, tests: compile(exception) };
      const exes = exception.opener.exe;
      if (exes?.every((g) => g.literal !== undefined)) {
        for (const g of exes as readonly ExeGlob[]) {
          const list = this.byExe.get(g.literal as string);
          if (list) list.push(compiled);
          else this.byExe.set(g.literal as string, [compiled]);
        }
      } else this.unindexed.push(compiled);
    });
  }

  /** The exceptions `facts` match: the first suppress wins; annotate ones all count. */
  match(facts: FindingFacts): PolicyVerdict {
    const indexed = facts.openerExe === undefined ? undefined : this.byExe.get(facts.openerExe);
    if (indexed === undefined && this.unindexed.length === 0) return NO_MATCH;
    let annotations: string[] | undefined;
    // Both lists are in file order; walk them merged so the first suppress is the file's first.
    const a = indexed ?? [];
    const b = this.unindexed;
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const next =
        j >= b.length || (i < a.length && (a[i] as Compiled).index < (b[j] as Compiled).index)
          ? (a[i++] as Compiled)
          : (b[j++] as Compiled);
      if (!passes(next.tests, facts)) continue;
      if (next.exception.action === 'suppress')
        return { suppressedBy: next.exception, annotations: annotations ?? [] };
      annotations ??= [];
      annotations.push(next.exception.name);
    }
    return annotations ? { suppressedBy: undefined, annotations } : NO_MATCH;
  }
}

function passes(tests: Test[], facts: FindingFacts): boolean {
  for (let k = 0; k < tests.length; k++) if (!(tests[k] as Test)(facts)) return false;
  return true;
}

/** One test per condition, cheapest first. */
function compile(e: PolicyException): Test[] {
  const tests: Test[] = [];
  if (e.signatures !== null) {
    const ids = new Set(e.signatures);
    tests.push((f) => ids.has(f.signature));
  }
  const allowed = e.access.reduce((bits, a) => bits | (a === 'read' ? READ : WRITE), 0);
  if (allowed !== (READ | WRITE)) tests.push((f) => (f.access & ~allowed) === 0);
  const o = e.opener;
  if (o.uid !== null) {
    const uids = new Set(o.uid);
    tests.push((f) => uids.has(f.uid));
  }
  if (o.comm !== null) {
    const comms = new Set(o.comm);
    tests.push((f) => comms.has(f.comm));
  }
  const container = o.container;
  if (container === 'host') tests.push((f) => f.containerId === '');
  else if (container !== 'any') tests.push((f) => f.containerId.startsWith(container.idPrefix));
  if (e.relation !== null) {
    const relations = new Set(e.relation);
    tests.push((f) => f.target?.relation !== undefined && relations.has(f.target.relation));
  }
  const t = e.target;
  if (t.uid !== null) {
    const uids = new Set(t.uid);
    tests.push((f) => f.target?.uid !== undefined && uids.has(f.target.uid));
  }
  if (t.comm !== null) {
    const comms = new Set(t.comm);
    tests.push((f) => f.target?.comm !== undefined && comms.has(f.target.comm));
  }
  if (o.exe !== null) tests.push(pathTest(o.exe, (f) => f.openerExe));
  if (o.parentExe !== null) tests.push(pathTest(o.parentExe, (f) => f.parentExe));
  if (t.exe !== null) tests.push(pathTest(t.exe, (f) => f.targetExe));
  return tests;
}

function pathTest(globs: readonly ExeGlob[], pick: (f: FindingFacts) => string | undefined): Test {
  const literals = new Set(globs.flatMap((g) => (g.literal === undefined ? [] : [g.literal])));
  const patterns = globs.filter((g) => g.literal === undefined);
  return (f) => {
    const path = pick(f);
    if (path === undefined) return false;
    if (literals.has(path)) return true;
    for (const g of patterns) if (g.test(path)) return true;
    return false;
  };
}
