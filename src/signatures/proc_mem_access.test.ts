import { describe, expect, it } from 'vitest';
import { findingsOf, openEvent } from '../../test/helpers.js';
import { casesFor } from '../../test/procfs-mem-cases.js';
import { PROC_MEM_ACCESS_METADATA, ProcMemAccess } from './proc_mem_access.js';

const cases = casesFor('read');

describe('TRC-1023 proc_mem_access', () => {
  it.each(cases)('$name → fires: $fires', ({ event, fires }) => {
    const findings = findingsOf(new ProcMemAccess(), event);
    expect(findings).toHaveLength(fires ? 1 : 0);
    if (fires)
      expect(findings[0]).toEqual({ sigMetadata: PROC_MEM_ACCESS_METADATA, event, data: null });
  });

  it("has Tracee's metadata", () => {
    expect(new ProcMemAccess().getMetadata()).toEqual({
      ID: 'TRC-1023',
      Version: '1',
      Name: 'Process memory access detected',
      EventName: 'proc_mem_access',
      Description:
        'Process memory access detected. Adversaries may access other processes memory to steal credentials and secrets.',
      Properties: {
        Severity: 3,
        Category: 'credential-access',
        Technique: 'Proc Filesystem',
        Kubernetes_Technique: '',
        id: 'attack-pattern--3120b9fa-23b8-4500-ae73-09494f607b7d',
        external_id: 'T1003.007',
      },
    });
  });

  it('selects security_file_open from any origin', () => {
    expect(new ProcMemAccess().getSelectedEvents()).toEqual([
      { source: 'tracee', name: 'security_file_open', origin: '*' },
    ]);
  });

  it('refuses events before init', () => {
    expect(() => new ProcMemAccess().onEvent(openEvent({}))).toThrow(/before init/);
  });
});
