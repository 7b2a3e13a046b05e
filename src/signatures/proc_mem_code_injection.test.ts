import { describe, expect, it } from 'vitest';
import { findingsOf } from '../../test/helpers.js';
import { casesFor } from '../../test/procfs-mem-cases.js';
import {
  PROC_MEM_CODE_INJECTION_METADATA,
  ProcMemCodeInjection,
} from './proc_mem_code_injection.js';

const cases = casesFor('write');

describe('TRC-1024 proc_mem_code_injection', () => {
  it.each(cases)('$name → fires: $fires', ({ event, fires }) => {
    const findings = findingsOf(new ProcMemCodeInjection(), event);
    expect(findings).toHaveLength(fires ? 1 : 0);
    if (fires) {
      expect(findings[0]).toEqual({
        sigMetadata: PROC_MEM_CODE_INJECTION_METADATA,
        event,
        data: null,
      });
    }
  });

  it("has Tracee's metadata", () => {
    const metadata = new ProcMemCodeInjection().getMetadata();
    expect(metadata).toMatchObject({
      ID: 'TRC-1024',
      Version: '1',
      Name: 'Code injection detected through /proc/<pid>/mem file',
      EventName: 'proc_mem_code_injection',
      Properties: {
        Severity: 3,
        Category: 'defense-evasion',
        Technique: 'Proc Memory',
        Kubernetes_Technique: '',
        id: 'attack-pattern--d201d4cc-214d-4a74-a1ba-b3fa09fd4591',
        external_id: 'T1055.009',
      },
    });
    expect(metadata.Description).toMatch(/code injection/i);
    expect(Object.isFrozen(metadata.Properties)).toBe(true);
  });
});
