// The common body of the two procfs mem signatures: they differ only in metadata and in
// which access mode (read or write) they look for.

import {
  SECURITY_FILE_OPEN,
  type SecurityFileOpenEvent,
  type TraceeEvent,
} from '../events/types.js';
import { isProcfsMemOpen, openFlagsOf } from './procfs-mem.js';
import type {
  Signal,
  Signature,
  SignatureContext,
  SignatureEventSelector,
  SignatureMetadata,
} from './signature.js';

export abstract class ProcfsMemSignature implements Signature {
  private report: SignatureContext['callback'] | undefined;

  protected abstract readonly metadata: SignatureMetadata;
  protected abstract accessMatches(flags: number): boolean;

  /** The metadata object is frozen and shared with every finding. */
  getMetadata(): SignatureMetadata {
    return this.metadata;
  }

  getSelectedEvents(): SignatureEventSelector[] {
    return [{ source: 'tracee', name: 'security_file_open', origin: '*' }];
  }

  init(ctx: SignatureContext): void {
    this.report = ctx.callback;
  }

  onEvent(event: TraceeEvent): void {
    if (this.report === undefined) throw new Error(`${this.metadata.ID}: onEvent before init`);
    if (event.eventName !== SECURITY_FILE_OPEN) return;
    const open = event as SecurityFileOpenEvent;
    if (isProcfsMemOpen(open) && this.accessMatches(openFlagsOf(open))) {
      this.report({ sigMetadata: this.metadata, event, data: null });
    }
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.report = undefined;
  }
}
