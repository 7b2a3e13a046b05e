// Where a Policy comes from: a file (loadPolicy), YAML text (parsePolicy) or a plain object in
// the same shape (policyFromObject). All three check the same way (check.ts) and return a
// frozen Policy, or throw a PolicyError; nothing is half-built.

import { Document } from 'yaml';
import { deepFrozen } from '../deep-frozen.js';
import { parseYaml, readTextFile } from '../yaml-file.js';
import { PolicyChecker } from './check.js';
import { POLICY_LIMITS, type Policy, PolicyError, type PolicySpec } from './types.js';

const made = new WeakSet<Policy>();

/** True for a Policy this module built (what options.policy and setPolicy take as is). */
export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && made.has(value as Policy);
}

/**
 * Reads and checks a policy file. Refuses what is not a regular file (a FIFO would block),
 * larger than POLICY_LIMITS.fileBytes, or not UTF-8.
 */
export function loadPolicy(file: string): Policy {
  const text = readTextFile(file, POLICY_LIMITS.fileBytes, (reason) => fileError(file, reason));
  return parsePolicy(text, file);
}

/** An error about a whole file or object (no line to point at). */
function fileError(source: string, reason: string): PolicyError {
  return new PolicyError(source, undefined, undefined, undefined, reason);
}

/** Checks policy YAML; `source` names it in errors (a file name). */
export function parsePolicy(text: string, source = '<policy>'): Policy {
  if (text.length > POLICY_LIMITS.fileBytes)
    throw fileError(source, `larger than ${POLICY_LIMITS.fileBytes} bytes`);
  const { doc, lines } = parseYaml(
    text,
    (line, column, message) => new PolicyError(source, line, column, undefined, message),
  );
  return seal(new PolicyChecker(source, doc, lines).policy(doc.contents));
}

/**
 * Checks a plain object in the policy file's shape; `source` names it in errors, which give
 * the field path (`options.policy: exceptions[0].opener.exe[1]: ...`) but no line.
 */
export function policyFromObject(spec: PolicySpec | unknown, source = 'options.policy'): Policy {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw fileError(source, 'expected an object with version: 1');
  let doc: Document;
  try {
    doc = new Document(spec, { keepUndefined: false });
  } catch (err) {
    throw fileError(source, `not a plain object: ${(err as Error).message}`);
  }
  return seal(new PolicyChecker(source, doc, undefined).policy(doc.contents as never));
}

/** A path (read now), a Policy as is, or a plain object: what options.policy accepts. */
export function toPolicy(value: string | Policy | PolicySpec, source = 'options.policy'): Policy {
  if (typeof value === 'string') return loadPolicy(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(
      `${source} must be a policy file path, a Policy or a policy object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  if (isPolicy(value)) return value;
  return policyFromObject(value, source);
}

function seal(policy: Policy): Policy {
  deepFrozen(policy);
  made.add(policy);
  return policy;
}

/**
 * Refuses a policy that names a signature `known` does not hold: a misspelt id would make its
 * exception silently match nothing.
 */
export function requireSignatures(policy: Policy, known: readonly string[]): void {
  const ids = new Set(known);
  policy.exceptions.forEach((e, i) => {
    const missing = e.signatures?.find((s) => !ids.has(s));
    if (missing !== undefined)
      throw new PolicyError(
        policy.source,
        e.line,
        e.column,
        `exceptions[${i}].signatures`,
        `no signature "${missing}" is running (running: ${known.join(', ') || 'none'})`,
      );
  });
}
