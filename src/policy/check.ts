// Checks a policy document (YAML nodes, from a file or made from a plain object) and builds
// the Policy. Every error names the field path and, for a file, the line and column of the
// offending node: the key for an unknown key, the value for a bad value, the mapping for a
// missing field. The Policy is built whole or not at all.

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type YAMLMap,
} from 'yaml';
import { printable } from '../events/printable.js';
import { TARGET_RELATIONS, type TargetRelation, U32_MAX } from '../events/types.js';
import { formatDuration, parseDuration } from './duration.js';
import { compileGlob, type ExeGlob, GlobError } from './glob.js';
import {
  ACCESS_VALUES,
  ACTIONS,
  type Access,
  type ContainerScope,
  type DedupSettings,
  type GuardSettings,
  POLICY_LIMITS,
  type Policy,
  type PolicyAction,
  PolicyError,
  type PolicyException,
  type ProcessConditions,
} from './types.js';

const TOP_KEYS = ['version', 'dedup', 'guard', 'exceptions'];
const DEDUP_KEYS = ['window', 'maxKeys'];
const GUARD_KEYS = ['killSelf'];
const EXCEPTION_KEYS = ['name', 'signatures', 'access', 'opener', 'target', 'relation', 'action'];
const OPENER_KEYS = ['exe', 'comm', 'uid', 'parentExe', 'container'];
const TARGET_KEYS = ['exe', 'comm', 'uid'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SIGNATURE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CONTAINER_PREFIX = /^[0-9a-f]{12,64}$/;
const UID_MAX = U32_MAX - 1; // (uid_t)-1 means "no uid"

type Entry = { key: Node; value: Node | null };

export class PolicyChecker {
  private aliases = 0;

  constructor(
    private readonly source: string,
    private readonly doc: Document,
    private readonly lines: LineCounter | undefined,
  ) {}

  /** An error at `node` (or at the start of the file when the node has no position). */
  fail(node: Node | null | undefined, field: string | undefined, reason: string): never {
    const { line, column } = this.position(node);
    throw new PolicyError(
      this.source,
      line ?? (this.lines ? 1 : undefined),
      column ?? 1,
      field,
      reason,
    );
  }

  policy(root: Node | null): Policy {
    if (root === null) this.fail(root, undefined, 'empty policy: expected "version: 1"');
    const top = this.entries(root, undefined, TOP_KEYS, 'a mapping with version, exceptions');
    const version = top.get('version');
    if (version === undefined) this.fail(root, 'version', 'missing: write "version: 1"');
    const v = this.scalar(version.value);
    if (v !== 1)
      this.fail(
        version.value ?? version.key,
        'version',
        `unsupported version ${JSON.stringify(v ?? null)}: this procmem-guard reads version 1`,
      );
    const dedup = top.has('dedup') ? this.dedup(top.get('dedup') as Entry) : null;
    const guard = this.guard(top.get('guard'));
    const exceptions = this.exceptions(top.get('exceptions')?.value ?? null);
    return { source: this.source, version: 1, dedup, guard, exceptions };
  }

  private guard(entry: Entry | undefined): GuardSettings {
    if (entry === undefined || this.isNull(entry.value)) return { killSelf: false };
    const map = this.entries(
      entry.value,
      'guard',
      GUARD_KEYS,
      'a mapping such as { killSelf: false }',
    );
    const killSelf = map.get('killSelf');
    if (killSelf === undefined) return { killSelf: false };
    const v = this.scalar(killSelf.value);
    if (typeof v !== 'boolean')
      this.fail(
        killSelf.value ?? killSelf.key,
        'guard.killSelf',
        `expected true or false, got ${describe(v)}`,
      );
    return { killSelf: v };
  }

  private dedup(entry: Entry): DedupSettings | null {
    if (this.isNull(entry.value)) return null;
    const map = this.entries(entry.value, 'dedup', DEDUP_KEYS, 'a mapping such as { window: 60s }');
    const window = map.get('window');
    if (window === undefined) this.fail(entry.value, 'dedup.window', 'missing (e.g. window: 60s)');
    const text = this.scalar(window.value);
    if (typeof text !== 'string')
      this.fail(
        window.value,
        'dedup.window',
        `expected a duration with a unit such as 60s, got ${describe(text)}`,
      );
    let windowMs: number;
    try {
      windowMs = parseDuration(text);
    } catch (err) {
      this.fail(window.value, 'dedup.window', (err as Error).message);
    }
    if (windowMs < 1 || windowMs > POLICY_LIMITS.maxWindowMs)
      this.fail(
        window.value,
        'dedup.window',
        `must be between 1ms and ${formatDuration(POLICY_LIMITS.maxWindowMs)} (remove dedup to turn it off)`,
      );
    let maxKeys: number = POLICY_LIMITS.defaultMaxKeys;
    const keys = map.get('maxKeys');
    if (keys !== undefined) {
      const n = this.scalar(keys.value);
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > POLICY_LIMITS.maxKeys)
        this.fail(
          keys.value,
          'dedup.maxKeys',
          `expected a whole number from 1 to ${POLICY_LIMITS.maxKeys}, got ${describe(n)}`,
        );
      maxKeys = n;
    }
    return { windowMs, maxKeys };
  }

  private exceptions(node: Node | null): PolicyException[] {
    const items = this.items(node, 'exceptions', POLICY_LIMITS.exceptions);
    const seen = new Map<string, Node>();
    return items.map((item, i) => {
      const exception = this.exception(item, `exceptions[${i}]`);
      const earlier = seen.get(exception.name);
      if (earlier !== undefined) {
        const { line } = this.position(earlier);
        this.fail(
          item,
          `exceptions[${i}].name`,
          `duplicate name "${exception.name}"${line ? ` (first at line ${line})` : ''}: names must be unique, they label counts and findings`,
        );
      }
      seen.set(exception.name, item);
      return exception;
    });
  }

  private exception(node: Node, field: string): PolicyException {
    const map = this.entries(node, field, EXCEPTION_KEYS, 'a mapping with name, action, ...');
    const name = this.name(map.get('name'), node, field);
    const signatures = this.strings(map.get('signatures'), `${field}.signatures`, (s, at, f) => {
      if (s.length > POLICY_LIMITS.signatureLength || !SIGNATURE_ID.test(s))
        this.fail(at, f, `"${s}" is not a signature id (such as TRC-1023)`);
      return s;
    });
    const access = this.enumList(map.get('access'), `${field}.access`, ACCESS_VALUES) ?? [
      ...ACCESS_VALUES,
    ];
    const opener = this.processEntries(map.get('opener'), `${field}.opener`, OPENER_KEYS);
    const target = this.processEntries(map.get('target'), `${field}.target`, TARGET_KEYS);
    const relation = this.enumList(map.get('relation'), `${field}.relation`, TARGET_RELATIONS);
    const actionEntry = map.get('action');
    if (actionEntry === undefined)
      this.fail(node, `${field}.action`, 'missing: write "action: suppress" or "action: annotate"');
    const action = this.scalar(actionEntry.value);
    if (!(ACTIONS as readonly unknown[]).includes(action))
      this.fail(
        actionEntry.value ?? actionEntry.key,
        `${field}.action`,
        `expected suppress or annotate, got ${describe(action)}`,
      );
    const exception: PolicyException = {
      name,
      signatures,
      access: access as Access[],
      opener: {
        ...this.process(opener, `${field}.opener`),
        parentExe: this.globs(opener.get('parentExe'), `${field}.opener.parentExe`),
        container: this.container(opener.get('container'), `${field}.opener.container`),
      },
      target: this.process(target, `${field}.target`),
      relation: relation as TargetRelation[] | null,
      action: action as PolicyAction,
      ...this.position(node),
      ...this.conditionPositions(map, opener, target),
    };
    if (exception.action === 'suppress' && !narrowed(exception))
      this.fail(
        node,
        field,
        `exception "${name}" would suppress every finding of its signatures: give it at least one opener, target or relation condition`,
      );
    return exception;
  }

  /** Where `node` starts in the file; empty when it has no position or there is no file. */
  private position(node: Node | null | undefined): { line?: number; column?: number } {
    const offset = node?.range?.[0];
    if (offset === undefined || this.lines === undefined) return {};
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The opener's or target's mapping (absent or null: no conditions), its keys checked. */
  private processEntries(
    entry: Entry | undefined,
    field: string,
    keys: readonly string[],
  ): Map<string, Entry> {
    return this.entries(
      entry?.value ?? null,
      field,
      keys,
      `a mapping with ${keys.join(', ')}`,
      true,
    );
  }

  /** The conditions the opener and the target share. */
  private process(map: Map<string, Entry>, field: string): ProcessConditions {
    return {
      exe: this.globs(map.get('exe'), `${field}.exe`),
      comm: this.comms(map.get('comm'), `${field}.comm`),
      uid: this.uids(map.get('uid'), `${field}.uid`),
    };
  }

  /** Where each condition key of an exception is written (for errors about one condition). */
  private conditionPositions(
    map: Map<string, Entry>,
    opener: Map<string, Entry>,
    target: Map<string, Entry>,
  ): { positions?: Record<string, { line: number; column: number }> } {
    if (this.lines === undefined) return {};
    const positions: Record<string, { line: number; column: number }> = {};
    const add = (prefix: string, entries: Map<string, Entry>) => {
      for (const [key, entry] of entries) {
        const at = this.position(entry.key);
        if (at.line !== undefined && at.column !== undefined)
          positions[`${prefix}${key}`] = { line: at.line, column: at.column };
      }
    };
    add('', map);
    add('opener.', opener);
    add('target.', target);
    return { positions };
  }

  private name(entry: Entry | undefined, parent: Node, field: string): string {
    if (entry === undefined)
      this.fail(parent, `${field}.name`, 'missing: every exception has a name');
    const name = this.scalar(entry.value);
    if (typeof name !== 'string')
      this.fail(
        entry.value ?? entry.key,
        `${field}.name`,
        `expected a string, got ${describe(name)}`,
      );
    if (name.length > POLICY_LIMITS.nameLength || !NAME.test(name))
      this.fail(
        entry.value,
        `${field}.name`,
        `"${clip(name)}" is not a name: letters, digits, ".", "_" and "-", starting with a letter or digit, at most ${POLICY_LIMITS.nameLength} characters`,
      );
    return name;
  }

  private globs(entry: Entry | undefined, field: string): ExeGlob[] | null {
    return this.strings(entry, field, (s, at, f) => {
      try {
        return compileGlob(s);
      } catch (err) {
        if (!(err instanceof GlobError)) throw err;
        return this.fail(
          at,
          f,
          `bad glob "${clip(s)}" at character ${err.offset + 1}: ${err.message}`,
        );
      }
    });
  }

  private comms(entry: Entry | undefined, field: string): string[] | null {
    return this.strings(entry, field, (s, at, f) => {
      const bytes = Buffer.byteLength(s);
      if (bytes === 0 || bytes > POLICY_LIMITS.commBytes)
        this.fail(
          at,
          f,
          `"${clip(s)}" can never match: a comm is 1 to ${POLICY_LIMITS.commBytes} bytes (the kernel cuts longer names; write the first ${POLICY_LIMITS.commBytes})`,
        );
      return s;
    });
  }

  private uids(entry: Entry | undefined, field: string): number[] | null {
    return this.list(entry, field, (item, f) => {
      const v = this.scalar(item);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UID_MAX)
        this.fail(
          item,
          f,
          `expected a numeric uid from 0 to ${UID_MAX}, got ${describe(v)} (user names are not looked up)`,
        );
      return v;
    });
  }

  private container(entry: Entry | undefined, field: string): ContainerScope {
    if (entry === undefined || this.isNull(entry.value)) return 'any';
    const v = this.scalar(entry.value);
    if (v === 'host' || v === 'any') return v;
    if (typeof v === 'string' && CONTAINER_PREFIX.test(v)) return { idPrefix: v };
    return this.fail(
      entry.value,
      field,
      `expected host, any, or a container id prefix of 12 to 64 lowercase hex digits, got ${describe(v)}${
        typeof v === 'number' ? ' (YAML read a number: quote the prefix)' : ''
      }`,
    );
  }

  private enumList<T extends string>(
    entry: Entry | undefined,
    field: string,
    allowed: readonly T[],
  ): T[] | null {
    return this.strings(entry, field, (s, at, f) => {
      if (!(allowed as readonly string[]).includes(s))
        this.fail(at, f, `expected one of ${allowed.join(', ')}, got "${clip(s)}"`);
      return s as T;
    });
  }

  private strings<T>(
    entry: Entry | undefined,
    field: string,
    convert: (s: string, node: Node, field: string) => T,
  ): T[] | null {
    return this.list(entry, field, (item, f) => {
      const v = this.scalar(item);
      if (typeof v !== 'string')
        this.fail(
          item,
          f,
          `expected a string, got ${describe(v)}${typeof v === 'number' ? ' (quote it)' : ''}`,
        );
      return convert(v, item, f);
    });
  }

  /** A list field: null when absent, null or empty (no condition); duplicates are refused. */
  private list<T>(
    entry: Entry | undefined,
    field: string,
    each: (item: Node, field: string) => T,
  ): T[] | null {
    if (entry === undefined) return null;
    const items = this.items(entry.value, field, POLICY_LIMITS.listEntries);
    if (items.length === 0) return null;
    const seen = new Set<unknown>();
    return items.map((item, i) => {
      const value = this.scalar(item);
      if (value !== undefined && seen.has(value))
        this.fail(item, `${field}[${i}]`, `duplicate entry ${describe(value)}`);
      seen.add(value);
      return each(item, `${field}[${i}]`);
    });
  }

  private items(node: Node | null, field: string, limit: number): Node[] {
    const resolved = this.resolve(node);
    if (this.isNull(resolved)) return [];
    if (!isSeq(resolved))
      this.fail(
        resolved,
        field,
        `expected a list ([a, b] or "- a" lines), got ${this.kind(resolved)}`,
      );
    if (resolved.items.length > limit)
      this.fail(resolved, field, `${resolved.items.length} entries; at most ${limit} are allowed`);
    return resolved.items.map((item) => this.resolve(item as Node) as Node);
  }

  /** A mapping's entries by key, checking keys against `allowed`. */
  private entries(
    node: Node | null,
    field: string | undefined,
    allowed: readonly string[],
    expected: string,
    optional = false,
  ): Map<string, Entry> {
    const resolved = this.resolve(node);
    const out = new Map<string, Entry>();
    if (optional && this.isNull(resolved)) return out;
    if (!isMap(resolved))
      this.fail(resolved, field, `expected ${expected}, got ${this.kind(resolved)}`);
    for (const pair of (resolved as YAMLMap).items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      const where = (k: string) => (field ? `${field}.${k}` : k);
      if (typeof key !== 'string')
        this.fail(keyNode, field, `keys are names such as ${allowed[0]}, got ${describe(key)}`);
      if (!allowed.includes(key)) {
        const hint = closest(key, allowed);
        this.fail(
          keyNode,
          where(clip(key)),
          `unknown key${hint ? `; did you mean ${hint}?` : ''} (expected ${allowed.join(', ')})`,
        );
      }
      out.set(key, { key: keyNode, value: this.resolve(pair.value as Node | null) });
    }
    return out;
  }

  private resolve(node: Node | null): Node | null {
    if (!isAlias(node)) return node;
    if (++this.aliases > POLICY_LIMITS.aliases)
      this.fail(node, undefined, `more than ${POLICY_LIMITS.aliases} aliases`);
    const target = node.resolve(this.doc);
    if (target === undefined) this.fail(node, undefined, `unknown alias *${node.source}`);
    return this.resolve(target as Node);
  }

  private scalar(node: Node | null): unknown {
    const resolved = this.resolve(node);
    return isScalar(resolved) ? resolved.value : undefined;
  }

  private isNull(node: Node | null): boolean {
    return node === null || (isScalar(node) && node.value === null);
  }

  private kind(node: Node | null): string {
    if (node === null) return 'nothing';
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    return describe(this.scalar(node));
  }
}

/** A suppress exception must narrow: its signatures and access alone would hide a technique. */
function narrowed(e: PolicyException): boolean {
  const o = e.opener;
  const t = e.target;
  return (
    [o.exe, o.comm, o.uid, o.parentExe, t.exe, t.comm, t.uid, e.relation].some((c) => c !== null) ||
    o.container !== 'any'
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'a list or mapping';
  if (value === null) return 'nothing (null)';
  if (typeof value === 'string') return `"${clip(value)}"`;
  if (typeof value === 'bigint') return `${value}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * Hostile input can be long or rewrite a terminal: at most 80 characters of it, with JSON's
 * escapes and then every control, format (bidi) and separator character escaped.
 */
function clip(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return printable(JSON.stringify(shown).slice(1, -1));
}

/** The allowed key closest to a misspelt one (edit distance at most 2), for "did you mean". */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(
        Math.min(
          (previous[j] as number) + 1,
          (row[j - 1] as number) + 1,
          (previous[j - 1] as number) + cost,
        ),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}
