// The README's API examples, as tests: they must compile and do what the README says.

import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createSecurityFileOpenEvent,
  type Finding,
  parseEventLine,
  replay,
  type Signature,
  type SignatureContext,
  SignatureEngine,
  type TraceeEvent,
} from '../src/index.js';

const sample = new URL('fixtures/tracee-sample.jsonl', import.meta.url);

class ShadowRead implements Signature {
  private ctx?: SignatureContext;
  getMetadata() {
    return {
      ID: 'USR-1',
      Version: '1',
      Name: 'shadow read',
      EventName: 'shadow_read',
      Description: 'Something read /etc/shadow.',
      Properties: {
        Severity: 2,
        Category: 'credential-access',
        Technique: 'Credentials In Files',
        Kubernetes_Technique: '',
        id: '',
        external_id: 'T1552.001',
      },
    };
  }
  getSelectedEvents() {
    return [{ source: 'tracee' as const, name: 'security_file_open', origin: '*' as const }];
  }
  init(ctx: SignatureContext) {
    this.ctx = ctx;
  }
  onEvent(event: TraceeEvent) {
    if (event.args[0]?.value === '/etc/shadow') {
      this.ctx?.callback({ sigMetadata: this.getMetadata(), event, data: null });
    }
  }
  onSignal() {}
  close() {}
}

describe('public API', () => {
  it('replays a Tracee file into formatted findings', async () => {
    let output = '';
    const malformed: string[] = [];
    const summary = await replay(createReadStream(sample), {
      format: 'tracee',
      write: (text) => {
        output += text;
      },
      onMalformed: (error) => malformed.push(error.message),
    });
    expect(summary).toEqual({ events: 9, findings: 6, malformed: 0, blank: 0, signatureErrors: 0 });
    expect(output.trimEnd().split('\n')).toHaveLength(6);
    expect(malformed).toEqual([]);
  });

  it('runs user signatures beside the built-in ones', () => {
    const engine = new SignatureEngine();
    engine.register(new ShadowRead());
    const seen: string[] = [];
    engine.on('finding', (finding: Finding) => seen.push(finding.sigMetadata.ID));
    engine.dispatch(createSecurityFileOpenEvent({ pathname: '/etc/shadow', flags: 0 }));
    engine.dispatch(createSecurityFileOpenEvent({ pathname: '/proc/1/mem', flags: 0 }));
    expect(seen).toEqual(['USR-1', 'TRC-1023']);
  });

  it('parses one line without throwing', () => {
    const bad = parseEventLine('{"processId":"x"}', 3);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toBe('line 3: eventName: missing');
  });
});
