// The capture error codes have one source, native/capture_error.h: the TypeScript list is
// generated from it, native code throws only through its enum, and docs/api.md names them all.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  GENERATED,
  generated,
  HEADER,
  parseHeader,
  root,
  // @ts-expect-error: a plain ES module, also run as a script
} from '../scripts/capture-error-codes.mjs';
import { CAPTURE_ERROR_CODES } from '../src/watcher/errors.js';

const header = parseHeader(readFileSync(join(root, HEADER), 'utf8')) as {
  name: string;
  code: string;
}[];

function nativeSources(dir = join(root, 'native')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return nativeSources(p);
    return /\.(cc|h)$/.test(name) ? [p] : [];
  });
}

it('the TypeScript list is the one generated from the native header', () => {
  expect(
    readFileSync(join(root, GENERATED), 'utf8'),
    `run node scripts/capture-error-codes.mjs`,
  ).toBe(generated());
  expect(CAPTURE_ERROR_CODES).toEqual([...header.map((e) => e.code), 'NATIVE_MISSING']);
});

it('every code native code throws is in the list, and none is spelled out as a string', () => {
  const names = new Set(header.map((e) => e.name));
  const codes = header.map((e) => e.code);
  const used: string[] = [];
  for (const file of nativeSources()) {
    if (file.endsWith(HEADER)) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/ErrorCode::(k\w+)/g)) {
      used.push(m[1] as string);
      expect(names.has(m[1] as string), `${file}: ErrorCode::${m[1]}`).toBe(true);
    }
    for (const code of codes) {
      expect(text.includes(`"${code}"`), `${file} spells "${code}" out`).toBe(false);
    }
  }
  expect(used.length).toBeGreaterThan(0);
});

it('docs/api.md has one row for every code', () => {
  const api = readFileSync(join(root, 'docs/api.md'), 'utf8');
  const rows = [...api.matchAll(/^\| `([A-Z][A-Z_]+)` \|/gm)].map((m) => m[1]);
  expect([...rows].sort()).toEqual([...CAPTURE_ERROR_CODES].sort());
});
