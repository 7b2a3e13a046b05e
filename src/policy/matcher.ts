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

/**
 * The facts of `finding`, written into `into` when given (the filter reuses one object, so
 * that matching allocates nothing), else into a new object.
 */
export function findingFacts(finding: Finding, into?: FindingFacts): FindingFacts {
  const event = finding.event;
  const mark = event.procmemGuard;
  // A cut path could match a glob the whole path would not (/opt/app/* against /opt/app/x...).
  const cut = mark?.notes?.includes('truncated') === true;
  const target = mark?.target;
  const f = into ?? emptyFacts();
  f.signature = finding.sigMetadata.ID;
  f.access = accessOf(event);
  f.openerExe = cut || event.executable.path === '' ? undefined : event.executable.path;
  f.comm = event.processName;
  f.uid = event.userId;
  f.parentExe = cut || !mark?.parentExe ? undefined : mark.parentExe;
  f.containerId = event.containerId || event.container.id || '';
  f.target = target;
  f.targetExe = cut || !target?.exe ? undefined : target.exe;
  return f;
}

/** A facts object with every field present (one shape for the engine to reuse). */
export function emptyFacts(): FindingFacts {
  return {
    signature: '',
    access: 0,
    openerExe: undefined,
    comm: '',
    uid: 0,
    parentExe: undefined,
    containerId: '',
    target: undefined,
    targetExe: undefined,
  };
}

/** Access bits from the open flags: O_RDONLY read, O_WRONLY write, O_RDWR both. */
function accessOf(event: TraceeEvent): number {
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

/**
 * An exception as plain data, checked by one function (`passes`): null means no condition.
 * One shape for all exceptions keeps the checks monomorphic, which closures per condition
 * were not (a finding is tested against many exceptions).
 */
interface Compiled {
  index: number;
  exception: PolicyException;
  signatures: Set<string> | null;
  /** Access bits the exception allows. */
  access: number;
  uids: Set<number> | null;
  comms: Set<string> | null;
  /** '' for host, null for any, else the container id prefix. */
  container: string | null;
  relations: Set<string> | null;
  targetUids: Set<number> | null;
  targetComms: Set<string> | null;
  exe: PathSet | null;
  parentExe: PathSet | null;
  targetExe: PathSet | null;
}

/** Globs split into a set of literal paths and the rest. */
interface PathSet {
  literals: Set<string>;
  patterns: ExeGlob[];
}

/** Matches of one finding: the first suppress exception, and every annotate one before it. */
export interface PolicyVerdict {
  suppressedBy: PolicyException | undefined;
  /** Names of matching annotate exceptions, in file order. */
  annotations: readonly string[];
}

const NOTHING: readonly Compiled[] = [];
const NO_MATCH: PolicyVerdict = Object.freeze({ suppressedBy: undefined, annotations: [] });

export class PolicyMatcher {
  private readonly byExe = new Map<string, Compiled[]>();
  private readonly unindexed: Compiled[] = [];

  constructor(readonly policy: Policy) {
    policy.exceptions.forEach((exception, index) => {
      const compiled = compile(exception, index);
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
    const a = indexed ?? NOTHING;
    const b = this.unindexed;
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const next =
        j >= b.length || (i < a.length && (a[i] as Compiled).index < (b[j] as Compiled).index)
          ? (a[i++] as Compiled)
          : (b[j++] as Compiled);
      if (!passes(next, facts)) continue;
      if (next.exception.action === 'suppress')
        return { suppressedBy: next.exception, annotations: annotations ?? [] };
      annotations ??= [];
      annotations.push(next.exception.name);
    }
    return annotations ? { suppressedBy: undefined, annotations } : NO_MATCH;
  }
}

/** Every condition of `c` holds for `f`, cheapest checks first. */
function passes(c: Compiled, f: FindingFacts): boolean {
  if (c.signatures !== null && !c.signatures.has(f.signature)) return false;
  if ((f.access & ~c.access) !== 0) return false;
  if (c.uids !== null && !c.uids.has(f.uid)) return false;
  if (c.comms !== null && !c.comms.has(f.comm)) return false;
  if (c.container !== null) {
    if (c.container === '' ? f.containerId !== '' : !f.containerId.startsWith(c.container))
      return false;
  }
  const target = f.target;
  if (c.relations !== null && (target?.relation === undefined || !c.relations.has(target.relation)))
    return false;
  if (c.targetUids !== null && (target?.uid === undefined || !c.targetUids.has(target.uid)))
    return false;
  if (c.targetComms !== null && (target?.comm === undefined || !c.targetComms.has(target.comm)))
    return false;
  if (c.exe !== null && !inPathSet(c.exe, f.openerExe)) return false;
  if (c.parentExe !== null && !inPathSet(c.parentExe, f.parentExe)) return false;
  if (c.targetExe !== null && !inPathSet(c.targetExe, f.targetExe)) return false;
  return true;
}

function inPathSet(set: PathSet, path: string | undefined): boolean {
  if (path === undefined) return false;
  if (set.literals.has(path)) return true;
  for (const g of set.patterns) if (g.test(path)) return true;
  return false;
}

function compile(e: PolicyException, index: number): Compiled {
  const o = e.opener;
  const t = e.target;
  const set = <T>(list: readonly T[] | null) => (list === null ? null : new Set(list));
  return {
    index,
    exception: e,
    signatures: set(e.signatures),
    access: e.access.reduce((bits, a) => bits | (a === 'read' ? READ : WRITE), 0),
    uids: set(o.uid),
    comms: set(o.comm),
    container: o.container === 'any' ? null : o.container === 'host' ? '' : o.container.idPrefix,
    relations: set(e.relation),
    targetUids: set(t.uid),
    targetComms: set(t.comm),
    exe: pathSet(o.exe),
    parentExe: pathSet(o.parentExe),
    targetExe: pathSet(t.exe),
  };
}

function pathSet(globs: readonly ExeGlob[] | null): PathSet | null {
  if (globs === null) return null;
  return {
    literals: new Set(globs.flatMap((g) => (g.literal === undefined ? [] : [g.literal]))),
    patterns: globs.filter((g) => g.literal === undefined),
  };
}
