// A policy in words, for `procmem-guard policy check`: what each exception would match, what
// it needs from an event (replayed Tracee input has no target or parent information), and
// which of its conditions guard mode could decide in the kernel.

import { printable } from '../events/printable.js';
import { formatDuration } from './duration.js';
import { kernelEnforceability } from './enforceable.js';
import type { PolicyStats } from './filter.js';
import type { ExeGlob } from './glob.js';
import type { Policy, PolicyException } from './types.js';

const RELATION_WORDS: Record<string, string> = {
  self: 'self (its own memory)',
  ancestor: 'ancestor (the opener started the target)',
  descendant: 'descendant (the target started the opener)',
  unrelated: 'unrelated',
};

export function describePolicy(policy: Policy): string {
  const lines = [
    `${printable(policy.source)}: version ${policy.version}, ${policy.exceptions.length} exception(s), ${
      policy.dedup
        ? `dedup window ${formatDuration(policy.dedup.windowMs)} (at most ${policy.dedup.maxKeys} keys)`
        : 'no dedup'
    }`,
  ];
  const decidable = policy.exceptions.filter((e) => kernelEnforceability(e).enforceable).length;
  lines.push(
    `guard mode (watch --enforce): ${decidable} of ${policy.exceptions.length} exception(s) kernel-decidable${
      decidable < policy.exceptions.length ? ' (--enforce refuses this policy)' : ''
    }; a process reading its own memory is ${policy.guard.killSelf ? 'killed unless excepted (killSelf: true)' : 'never killed'}`,
  );
  policy.exceptions.forEach((e, i) => {
    lines.push('', ...describeException(e, i + 1));
  });
  return lines.join('\n');
}

function describeException(e: PolicyException, n: number): string[] {
  const at = e.line === undefined ? '' : ` (line ${e.line})`;
  const head = `${n}. ${e.name}${at}: ${e.action === 'suppress' ? 'suppresses' : 'annotates'} ${
    e.signatures ? `${e.signatures.join(', ')} findings` : 'findings of every signature'
  } of ${accessWords(e.access)}`;
  const out = [head];
  const o = e.opener;
  const opener = [
    o.exe && `exe ${globs(o.exe)}`,
    o.comm && `comm ${words(o.comm)}`,
    o.uid && `uid ${o.uid.join(' or ')}`,
    o.parentExe && `parent exe ${globs(o.parentExe)}`,
    o.container === 'host'
      ? 'on the host (not in a container)'
      : o.container === 'any'
        ? undefined
        : `in a container whose id starts ${o.container.idPrefix}`,
  ].filter(Boolean);
  out.push(`   opener: ${opener.length ? opener.join('; ') : 'any'}`);
  const t = e.target;
  const target = [
    t.exe && `exe ${globs(t.exe)}`,
    t.comm && `comm ${words(t.comm)}`,
    t.uid && `uid ${t.uid.join(' or ')}`,
    e.relation && `relation ${e.relation.map((r) => RELATION_WORDS[r]).join(' or ')}`,
  ].filter(Boolean);
  out.push(`   target: ${target.length ? target.join('; ') : 'any'}`);
  const needs = [
    (t.exe || t.comm || t.uid || e.relation) && 'target information',
    o.parentExe && 'the parent executable',
  ].filter(Boolean);
  if (needs.length)
    out.push(
      `   needs ${needs.join(' and ')}: live capture only, never matches replayed Tracee events`,
    );
  const k = kernelEnforceability(e);
  const blocking = k.conditions.filter((c) => !c.kernel);
  out.push(
    `   kernel-decidable (guard mode): ${
      k.enforceable ? 'yes' : `no: ${blocking.map((c) => `${c.field} (${c.why})`).join(', ')}`
    }`,
  );
  return out;
}

function accessWords(access: readonly string[]): string {
  if (access.length === 2) return 'any open (read, write or both)';
  return access[0] === 'read' ? 'read-only opens (O_RDONLY)' : 'write-only opens (O_WRONLY)';
}

function globs(list: readonly ExeGlob[]): string {
  return words(list.map((g) => g.source));
}

function words(list: readonly string[]): string {
  return list.map((s) => printable(s)).join(' or ');
}

/** Policy counts in one line (watch's exit summary, replay's summary): nothing left out. */
export function describePolicyCounts(p: PolicyStats): string {
  const by = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
  const suppressed = by(p.suppressedByException);
  const annotated = by(p.annotatedByException);
  const d = p.dedup;
  return (
    `suppressed ${p.suppressed}${suppressed ? ` (${suppressed})` : ''}, ` +
    `annotated ${p.annotated}${annotated ? ` (${annotated})` : ''}, ` +
    `dedup folded ${d.folded} (carried ${d.carried}, pending ${d.pending}, evicted ${d.evicted})`
  );
}
