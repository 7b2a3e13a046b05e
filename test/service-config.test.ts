// watch --config: YAML errors and bad values name the file, line and column; output specs.
import { describe, expect, it } from 'vitest';
import { isFatalCaptureWarning } from '../src/cli/watch.js';
import { parseConfig } from '../src/service/config.js';
import { backoff, checkOutputSpec, rfc5424 } from '../src/service/outputs.js';

describe('parseConfig', () => {
  it('reads every setting; headersFromEnv takes the value from the environment', () => {
    const c = parseConfig(
      [
        'backend: audit',
        'format: tracee',
        'events: true',
        'metrics: 127.0.0.1:9464',
        'outputs:',
        '  - stdout',
        '  - spec: webhook:https://example.test/x',
        '    headers: { X-A: b }',
        '    headersFromEnv: { Authorization: TOKEN }',
        '    queueLimit: 7',
      ].join('\n'),
      'c.yaml',
      { TOKEN: 'Bearer z' },
    );
    expect(c).toEqual({
      backend: 'audit',
      format: 'tracee',
      events: true,
      metrics: '127.0.0.1:9464',
      outputs: [
        { spec: 'stdout' },
        {
          spec: 'webhook:https://example.test/x',
          headers: { 'X-A': 'b', Authorization: 'Bearer z' },
          queueLimit: 7,
        },
      ],
    });
  });

  it.each([
    ['backend: [', /^c\.yaml:1:\d+: /],
    ['events: true\noutputs: [\n', /^c\.yaml:3:1: /],
    ['backend: bpf', /^c\.yaml:1:10: backend must be one of auto, ebpf, fanotify, audit$/],
    ['observeIo: yes', /^c\.yaml:1:12: observeIo must be true or false$/],
    ['events: 1', /^c\.yaml:1:9: events must be true or false$/],
    ['format: json\nbogus: 1', /^c\.yaml:2:1: unknown setting "bogus"/],
    ['outputs:\n  - stdout\n  - ftp://x', /^c\.yaml:3:5: unknown output "ftp:\/\/x"/],
    ['outputs:\n  - spec: syslog:udp://h', /^c\.yaml:2:11: output "syslog:udp:\/\/h": expected/],
    [
      'outputs:\n  - spec: webhook:http://h\n    queueLimit: -1',
      /^c\.yaml:3:17: queueLimit must be/,
    ],
    ['outputs:\n  - spec: stdout\n    headersFromEnv: { A: UNSET_VAR }', /UNSET_VAR is not set/],
    ['metrics: nope', /^c\.yaml:1:10: expected HOST:PORT/],
  ])('%j is refused with file:line:col', (text, message) => {
    expect(() => parseConfig(text, 'c.yaml', {})).toThrow(message);
  });
});

describe('outputs', () => {
  it.each([
    'stdout',
    'file:/x',
    'syslog',
    'syslog:udp://127.0.0.1:514',
    'syslog:tcp://[::1]:601',
    'webhook:https://h/p',
  ])('%s is a valid spec', (spec) => expect(() => checkOutputSpec(spec)).not.toThrow());
  it.each(['file:', 'syslog:udp://h', 'webhook:ftp://h', 'kafka:x'])('%s is refused', (spec) =>
    expect(() => checkOutputSpec(spec)).toThrow(),
  );
  it('backoff grows exponentially, jittered within [ceiling/2, ceiling], capped', () => {
    for (let n = 0; n < 12; n++) {
      const ceiling = Math.min(1000, 10 * 2 ** n);
      const d = backoff(n, 10, 1000);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
  it('syslog messages are RFC 5424 with facility auth, severity warning', () => {
    expect(rfc5424('{"a":1}', new Date(0))).toMatch(
      /^<36>1 1970-01-01T00:00:00\.000Z \S+ procmem-guard \d+ finding - \{"a":1\}$/,
    );
  });
  it('the capture-thread-stopped warnings are fatal', () => {
    expect(isFatalCaptureWarning('fanotify capture thread stopped: read: EIO')).toBe(true);
    expect(isFatalCaptureWarning('audit backend: poll: Bad file descriptor')).toBe(true);
    expect(isFatalCaptureWarning('eBPF backend: poll: Invalid argument')).toBe(true);
    expect(isFatalCaptureWarning('eBPF backend: ring buffer: Bad message')).toBe(false);
    expect(isFatalCaptureWarning('a fanotify event could not be opened')).toBe(false);
  });
});
