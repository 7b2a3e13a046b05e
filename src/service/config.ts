// `watch --config FILE`: everything watch takes on the command line, in YAML. Errors name the
// file, line and column. Command-line flags override what the file says.
//
//   backend: auto            # auto | fanotify | audit
//   format: json             # json | tracee | pretty (default for every output)
//   events: false
//   metrics: 127.0.0.1:9464
//   flushTimeoutMs: 5000     # how long SIGTERM waits for outputs
//   policy: policy.yaml      # exceptions and dedup; relative to this file's directory
//   enforce: false           # guard mode: true | false | dry-run (README "Guard mode")
//   observeIo: false         # proc_mem_io summaries (eBPF, fanotify; README "Observed access")
//   outputs:
//     - stdout
//     - file:/var/log/procmem-guard/findings.jsonl
//     - spec: webhook:https://collector.example/findings
//       format: tracee
//       headers: { X-Source: host-a }
//       headersFromEnv: { Authorization: PMG_WEBHOOK_AUTH }   # header: environment variable
//       queueLimit: 10000
//     - spec: syslog
//       socket: /dev/log

import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { EnforceOption } from '../guard/mode.js';
import { FINDING_FORMATS, type FindingFormat } from '../output/index.js';
import { BACKEND_CHOICES, type BackendChoice } from '../watcher/watcher.js';
import { parseYaml, readTextFile } from '../yaml-file.js';
import { checkOutputSpec } from './outputs.js';

export interface OutputConfig {
  spec: string;
  format?: FindingFormat;
  headers?: Record<string, string>;
  queueLimit?: number;
  socket?: string;
  batchSize?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timeoutMs?: number;
}

export interface WatchConfig {
  backend?: BackendChoice;
  format?: FindingFormat;
  events?: boolean;
  metrics?: string;
  flushTimeoutMs?: number;
  outputs?: OutputConfig[];
  /** A policy file, resolved against the config file's directory. */
  policy?: string;
  /** Guard mode (README "Guard mode"). */
  enforce?: EnforceOption;
  /**
   * Observed access: proc_mem_io summaries (eBPF: costs every read and write on the host;
   * fanotify: an inode mark per tracked file, bytes unknown).
   */
  observeIo?: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const TOP_KEYS = [
  'backend',
  'format',
  'events',
  'metrics',
  'flushTimeoutMs',
  'outputs',
  'policy',
  'enforce',
  'observeIo',
];
const OUTPUT_KEYS = [
  'spec',
  'format',
  'headers',
  'headersFromEnv',
  'queueLimit',
  'socket',
  'batchSize',
  'retryBaseMs',
  'retryMaxMs',
  'timeoutMs',
];
const NUMBER_KEYS = new Set(['queueLimit', 'batchSize', 'retryBaseMs', 'retryMaxMs', 'timeoutMs']);
/** The largest config file read (a config is a few hundred bytes). */
const CONFIG_MAX_BYTES = 1024 * 1024;

/** Reads and checks a config file: a regular UTF-8 file of at most CONFIG_MAX_BYTES. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): WatchConfig {
  const text = readTextFile(
    file,
    CONFIG_MAX_BYTES,
    (reason) => new ConfigError(`${file}: ${reason}`),
  );
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = {}): WatchConfig {
  const positioned = (line: number, col: number, message: string) =>
    new ConfigError(`${file}:${line}:${col}: ${message}`);
  const { doc, lines } = parseYaml(text, positioned);
  const at = (node: Node | null | undefined, message: string): ConfigError => {
    const pos = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
    return positioned(pos.line, pos.col, message);
  };
  const root = doc.contents;
  if (root === null) return {};
  if (!isMap(root))
    throw at(root, 'expected a mapping of settings (backend, format, outputs, ...)');
  const config: WatchConfig = {};
  for (const pair of root.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const value = pair.value as Node | null;
    const scalar = (): unknown => (isScalar(value) ? value.value : undefined);
    const flag = (): boolean => {
      const v = scalar();
      if (typeof v !== 'boolean') throw at(value, `${key} must be true or false`);
      return v;
    };
    switch (key) {
      case 'backend': {
        const v = scalar();
        if (!(BACKEND_CHOICES as readonly unknown[]).includes(v))
          throw at(value, `backend must be one of ${BACKEND_CHOICES.join(', ')}`);
        config.backend = v as BackendChoice;
        break;
      }
      case 'format':
        config.format = format(scalar(), value, at);
        break;
      case 'events':
        config.events = flag();
        break;
      case 'metrics': {
        const v = scalar();
        if (typeof v !== 'string') throw at(value, 'metrics must be HOST:PORT');
        try {
          parseHostPort(v);
        } catch (err) {
          throw at(value, (err as Error).message);
        }
        config.metrics = v;
        break;
      }
      case 'flushTimeoutMs':
        config.flushTimeoutMs = positive(scalar(), value, key, at);
        break;
      case 'policy': {
        const v = scalar();
        if (typeof v !== 'string' || v === '') throw at(value, 'policy must be a file path');
        config.policy = resolve(dirname(file), v);
        break;
      }
      case 'observeIo':
        config.observeIo = flag();
        break;
      case 'enforce': {
        const v = scalar();
        if (typeof v !== 'boolean' && v !== 'dry-run')
          throw at(value, 'enforce must be true, false or dry-run');
        config.enforce = v as EnforceOption;
        break;
      }
      case 'outputs': {
        if (!isSeq(value)) throw at(value ?? keyNode, 'outputs must be a list');
        config.outputs = value.items.map((item) => outputConfig(item as Node, env, at));
        break;
      }
      default:
        throw at(keyNode, `unknown setting "${key}"; expected one of ${TOP_KEYS.join(', ')}`);
    }
  }
  return config;
}

type At = (node: Node | null | undefined, message: string) => ConfigError;

function format(v: unknown, node: Node | null, at: At): FindingFormat {
  if (!(FINDING_FORMATS as readonly unknown[]).includes(v))
    throw at(node, `format must be one of ${FINDING_FORMATS.join(', ')}`);
  return v as FindingFormat;
}

function positive(v: unknown, node: Node | null, key: string, at: At): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw at(node, `${key} must be a positive whole number`);
  return v;
}

function stringMap(node: Node | null, key: string, at: At): Record<string, string> {
  if (!isMap(node)) throw at(node, `${key} must be a mapping of names to strings`);
  const out: Record<string, string> = {};
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    const v = isScalar(pair.value) ? pair.value.value : undefined;
    if (!k || typeof v !== 'string') throw at(pair.value as Node, `${key}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function outputConfig(node: Node, env: NodeJS.ProcessEnv, at: At): OutputConfig {
  const check = (spec: unknown, where: Node): string => {
    if (typeof spec !== 'string') throw at(where, 'an output is a spec string or has "spec:"');
    try {
      checkOutputSpec(spec);
    } catch (err) {
      throw at(where, (err as Error).message);
    }
    return spec;
  };
  if (isScalar(node)) return { spec: check(node.value, node) };
  if (!isMap(node)) throw at(node, 'an output is a spec string or a mapping with "spec:"');
  const out: Partial<OutputConfig> = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as Node | null;
    const v = isScalar(value) ? value.value : undefined;
    if (key === 'spec') out.spec = check(v, value ?? node);
    else if (key === 'format') out.format = format(v, value, at);
    else if (key === 'socket') {
      if (typeof v !== 'string') throw at(value, 'socket must be a path');
      out.socket = v;
    } else if (key === 'headers') out.headers = { ...out.headers, ...stringMap(value, key, at) };
    else if (key === 'headersFromEnv') {
      for (const [header, variable] of Object.entries(stringMap(value, key, at))) {
        const got = env[variable];
        if (got === undefined)
          throw at(value, `headersFromEnv: environment variable ${variable} is not set`);
        out.headers = { ...out.headers, [header]: got };
      }
    } else if (NUMBER_KEYS.has(key))
      (out as Record<string, number>)[key] = positive(v, value, key, at);
    else
      throw at(
        pair.key as Node,
        `unknown output setting "${key}"; expected one of ${OUTPUT_KEYS.join(', ')}`,
      );
  }
  if (out.spec === undefined) throw at(node, 'an output needs "spec:"');
  return out as OutputConfig;
}

/** HOST:PORT or [V6]:PORT. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`expected HOST:PORT, not "${text}"`);
  return { host: (m[1] ?? m[2]) as string, port };
}
