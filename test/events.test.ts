import { describe, expect, it } from 'vitest';
import {
  createSecurityFileOpenEvent,
  parseEventLine,
  parseJsonExact,
  type SecurityFileOpenEvent,
  serializeEvent,
  type TraceeEvent,
  writeJson,
} from '../src/events/index.js';
import { parseEventLineGeneral } from '../src/events/reader.js';
import { readTraceeLayout } from '../src/events/tracee-layout.js';
import { traceeLine } from './helpers.js';

function parsed(line: string, lineNo = 1): TraceeEvent {
  const result = parseEventLine(line, lineNo);
  if (!result.ok) throw result.error;
  return result.event;
}

function parseError(line: string, lineNo = 7) {
  const result = parseEventLine(line, lineNo);
  if (result.ok) throw new Error(`expected an error for ${line.slice(0, 80)}`);
  return result.error;
}

describe('reading Tracee JSON', () => {
  it('reads every field under its Tracee name, 64-bit values exact', () => {
    const event = parsed(traceeLine()) as SecurityFileOpenEvent;
    expect(event.timestamp).toBe(1732675200123456789n);
    expect(event.threadStartTime).toBe(1732675190000000123n);
    expect(event.cgroupId).toBe(10376n);
    expect(event.processId).toBe(4242);
    expect(event.processName).toBe('dd');
    expect(event.executable).toEqual({ path: '/usr/bin/dd' });
    expect(event.eventId).toBe(732);
    expect(event.eventName).toBe('security_file_open');
    expect(event.args.map((arg) => [arg.name, arg.type])).toEqual([
      ['pathname', 'const char*'],
      ['flags', 'string'],
      ['dev', 'dev_t'],
      ['inode', 'unsigned long'],
      ['ctime', 'unsigned long'],
      ['syscall_pathname', 'const char*'],
    ]);
    expect(event.args[2].value).toBe(23n);
    expect(event.args[3].value).toBe(18446744073709551557n);
    expect(event.args[4].value).toBe(1732675190987654321n);
    expect(event.extra?.contextFlags).toEqual({ containerStarted: false, isCompat: false });
  });

  it('writes a Tracee line back byte for byte', () => {
    const line = traceeLine();
    expect(serializeEvent(parsed(line))).toBe(line);
    const raw = traceeLine({ flags: 0o2 | 0o2000000 });
    expect(serializeEvent(parsed(raw))).toBe(raw);
  });

  it.each([
    '1732675200123456789',
    '9007199254740993',
    '18446744073709551615',
    '1000000000000000001',
  ])('keeps the timestamp %s exact through read and write', (digits) => {
    const line = traceeLine({ timestamp: digits, ctime: digits });
    const event = parsed(line);
    expect(event.timestamp).toBe(BigInt(digits));
    expect(serializeEvent(event)).toContain(`"timestamp":${digits},`);
    expect(serializeEvent(event)).toContain(`"value":${digits}}`);
  });

  it('keeps 64-bit values exact when the layout defeats the fast path', () => {
    // Pretty-printed, fields reordered, args not last: only the exact re-parse can do it.
    const source = JSON.parse(traceeLine()) as Record<string, unknown>;
    const { args, timestamp: _t, ...rest } = source;
    const text = JSON.stringify({ args, ...rest }, null, 2)
      .replace('"threadStartTime": 1732675190000000000', '"threadStartTime": 1732675190000000123')
      .replace('{', '{\n  "timestamp": 1732675200123456789,');
    const json = text.replace(/"value": 18446744073709552000/, '"value": 18446744073709551557');
    const event = parsed(json);
    expect(event.timestamp).toBe(1732675200123456789n);
    expect(event.threadStartTime).toBe(1732675190000000123n);
    expect(event.args[3]?.value).toBe(18446744073709551557n);
  });

  it('does not touch digits inside strings', () => {
    const path = '/tmp/x:12345678901234567890,"timestamp":99999999999999999999';
    const event = parsed(traceeLine({ pathname: path })) as SecurityFileOpenEvent;
    expect(event.args[0].value).toBe(path);
    expect(event.timestamp).toBe(1732675200123456789n);
    expect(parsed(serializeEvent(event))).toEqual(event);
  });

  it('keeps unknown fields, including big integers in them', () => {
    const line = traceeLine().replace(
      '"stackAddresses":null',
      '"stackAddresses":[18446744072635809792,18446744072635809793]',
    );
    const event = parsed(
      line.replace('"args":[', '"futureField":{"id":12345678901234567891},"args":['),
    );
    expect(event.extra?.stackAddresses).toEqual([18446744072635809792n, 18446744072635809793n]);
    expect(event.extra?.futureField).toEqual({ id: 12345678901234567891n });
    expect(serializeEvent(event)).toContain('"futureField":{"id":12345678901234567891}');
  });

  it('accepts flags as an integer and eventId as a number', () => {
    const event = parsed(
      traceeLine({ flags: 32770 }).replace('"eventId":"732"', '"eventId":730'),
    ) as SecurityFileOpenEvent;
    expect(event.args[1]).toEqual({ name: 'flags', type: 'int', value: 32770 });
    expect(event.eventId).toBe(730);
  });

  it('reads events of other names with their arguments as given', () => {
    const line =
      '{"timestamp":1732675200123456789,"processId":1,"processName":"init","eventName":"openat",' +
      '"args":[{"name":"dirfd","type":"int","value":-100},{"name":"big","type":"u64","value":18446744073709551615}]}';
    const event = parsed(line);
    expect(event.eventName).toBe('openat');
    expect(event.args).toEqual([
      { name: 'dirfd', type: 'int', value: -100 },
      { name: 'big', type: 'u64', value: 18446744073709551615n },
    ]);
  });

  it('reads the capture mark', () => {
    const line = traceeLine().replace(
      '"args":[',
      '"procmemGuard":{"procfsMem":true,"targetPid":1234,"flagsSource":"fdinfo","backend":"fanotify"},"args":[',
    );
    const event = parsed(line);
    expect(event.procmemGuard).toEqual({
      procfsMem: true,
      targetPid: 1234,
      flagsSource: 'fdinfo',
      backend: 'fanotify',
    });
    expect(serializeEvent(event)).toBe(line);
  });

  it('reads the target and parent executable of a live event, exactly', () => {
    const target =
      '{"pid":1234,"tid":1235,"comm":"ssh d","exe":"/usr/sbin/sshd","uid":4294967295,' +
      '"containerId":"","startTime":1732675190000000123,"relation":"ancestor"}';
    const line = traceeLine().replace(
      '"args":[',
      `"procmemGuard":{"procfsMem":true,"targetPid":1234,"flagsSource":"kernel","target":${target},"parentExe":"/usr/bin/bash"},"args":[`,
    );
    const event = parsed(line);
    expect(event.procmemGuard?.target).toEqual({
      pid: 1234,
      tid: 1235,
      comm: 'ssh d',
      exe: '/usr/sbin/sshd',
      uid: 4294967295,
      containerId: '',
      startTime: 1732675190000000123n,
      relation: 'ancestor',
    });
    expect(event.procmemGuard?.parentExe).toBe('/usr/bin/bash');
    expect(serializeEvent(event)).toBe(line);
    // Only pid and tid are required; the general path reads the same.
    const minimal = traceeLine().replace(
      '"args":[',
      '"procmemGuard":{"procfsMem":true,"flagsSource":"kernel","target":{"pid":1,"tid":1}},"args":[',
    );
    expect(parsed(minimal).procmemGuard?.target).toEqual({ pid: 1, tid: 1 });
    // Both readers: the fast one (this project's own output layout) and the general one.
    expect(readTraceeLayout(line)?.procmemGuard).toEqual(event.procmemGuard);
    const general = parseEventLineGeneral(line, 1);
    expect(general.ok && general.event.procmemGuard).toEqual(event.procmemGuard);
  });
});

describe('malformed input', () => {
  it.each([
    ['truncated JSON', traceeLine().slice(0, 300), undefined, /invalid JSON/],
    ['an empty line', '', undefined, /empty line/],
    ['a JSON array', '[1,2]', '(event)', /expected a JSON object, got an array/],
    [
      'a string timestamp',
      traceeLine({ timestamp: '"soon"' }),
      'timestamp',
      /expected an exact integer, got string "soon"/,
    ],
    [
      'a fractional processId',
      traceeLine().replace('"processId":4242', '"processId":42.5'),
      'processId',
      /expected an integer, got number 42.5/,
    ],
    [
      'a missing processName',
      traceeLine().replace('"processName":"dd",', ''),
      'processName',
      /missing/,
    ],
    [
      'args not an array',
      traceeLine().replace(/"args":\[.*\]\}$/, '"args":{}}'),
      'args',
      /expected an array/,
    ],
    [
      'a missing argument',
      traceeLine().replace(/\{"name":"ctime"[^}]*\},/, ''),
      'args',
      /missing argument "ctime"/,
    ],
    [
      'an unknown flag name',
      traceeLine({ flags: 'O_RDONLY|O_BOGUS' }),
      'args[1].value (flags)',
      /unknown open flag "O_BOGUS"/,
    ],
    [
      'a numeric pathname',
      traceeLine().replace('"value":"/proc/1234/mem"', '"value":7'),
      'args[0].value (pathname)',
      /expected a string, got number 7/,
    ],
    [
      'a bad capture mark',
      traceeLine().replace('"args":[', '"procmemGuard":{"procfsMem":"yes"},"args":['),
      'procmemGuard.procfsMem',
      /expected a boolean/,
    ],
    ...(
      [
        ['a target that is not an object', '7', 'procmemGuard.target', /expected an object/],
        ['a target without a tid', '{"pid":1}', 'procmemGuard.target.tid', /missing/],
        ['a negative target pid', '{"pid":-1,"tid":1}', 'procmemGuard.target.pid', /process id/],
        [
          'a target uid past 32 bits',
          '{"pid":1,"tid":1,"uid":4294967296}',
          'procmemGuard.target.uid',
          /uid/,
        ],
        [
          'a numeric target comm',
          '{"pid":1,"tid":1,"comm":7}',
          'procmemGuard.target.comm',
          /string/,
        ],
        [
          'a negative startTime',
          '{"pid":1,"tid":1,"startTime":-5}',
          'procmemGuard.target.startTime',
          /unsigned 64-bit/,
        ],
        [
          'an unknown relation',
          '{"pid":1,"tid":1,"relation":"cousin"}',
          'procmemGuard.target.relation',
          /expected one of self, ancestor, descendant, unrelated/,
        ],
      ] as const
    ).map(([name, target, field, reason]): [string, string, string, RegExp] => [
      name,
      traceeLine().replace(
        '"args":[',
        `"procmemGuard":{"procfsMem":true,"flagsSource":"kernel","target":${target}},"args":[`,
      ),
      field,
      reason,
    ]),
  ])('%s gives a clear error naming line and field', (_name, line, field, reason) => {
    const error = parseError(line, 7);
    expect(error.lineNo).toBe(7);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
    expect(error.message).toMatch(/^line 7: /);
  });

  it('reports binary garbage as invalid JSON in one printable line', () => {
    const garbage = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0d]).toString(
      'utf8',
    );
    const error = parseError(garbage, 3);
    expect(error.message).toMatch(/^line 3: invalid JSON: /);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting none are left
    expect(error.message).not.toMatch(/[\u0000-\u001f\ufffd]/);
  });

  it('reports absurd nesting in an unknown field instead of overflowing the stack', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const error = parseError(traceeLine().replace('"args":[', `"deep":${deep},"args":[`), 5);
    expect(error.message).toMatch(/^line 5: invalid JSON: nesting deeper than 512/);
  });

  it('reports a 10 MB line quickly with a short message', () => {
    const line = `{"a":"${'x'.repeat(10 * 1024 * 1024)}`;
    const started = performance.now();
    const error = parseError(line, 2);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error.message).toMatch(/^line 2: invalid JSON/);
    expect(error.message.length).toBeLessThan(300);
  });
});

describe('exact JSON', () => {
  it('parses integers beyond 2^53 as bigint and the rest as numbers', () => {
    expect(parseJsonExact('{"a":[9007199254740993,1.5,-12,1e3],"b":"9007199254740993"}')).toEqual({
      a: [9007199254740993n, 1.5, -12, 1000],
      b: '9007199254740993',
    });
  });

  it('writes bigint as digits', () => {
    expect(writeJson({ a: [1n << 64n, 'x"y', null, true] })).toBe(
      '{"a":[18446744073709551616,"x\\"y",null,true]}',
    );
  });

  it('keeps a "__proto__" key as data', () => {
    const value = parseJsonExact('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
  });

  it.each(['{"a":1', '{"a":1}x', '[1,]', '"\\u00"', '{"a" 1}'])('rejects %s', (text) => {
    expect(() => parseJsonExact(text)).toThrow(SyntaxError);
  });

  it('rejects absurd nesting without overflowing the stack', () => {
    expect(() => parseJsonExact('['.repeat(100000) + ']'.repeat(100000))).toThrow(/nesting/);
  });
});

describe('building events', () => {
  it('fills Tracee defaults around the given fields', () => {
    const event = createSecurityFileOpenEvent({
      timestamp: 1732675200123456789n,
      processId: 77,
      processName: 'gdb',
      pathname: '/proc/1234/task/1235/mem',
      flags: 0o2,
      procmemGuard: { procfsMem: true, targetPid: 1234, targetTid: 1235, flagsSource: 'fdinfo' },
    });
    expect(event.hostProcessId).toBe(77);
    expect(event.threadId).toBe(77);
    expect(event.args[5]).toEqual({
      name: 'syscall_pathname',
      type: 'const char*',
      value: '/proc/1234/task/1235/mem',
    });
    expect(event.argsNum).toBe(6);
    expect(parsed(serializeEvent(event))).toEqual(event);
  });
});
