// A vitest reporter that fails a CI run (CI=true) in which any test was skipped: CI runs as
// root with the host-state opt-in and every tool installed, so a skip there means a test
// silently stopped running (a missing package, a lost environment variable).
import type { Reporter, TestModule } from 'vitest/node';

export class NoSkipsInCi implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        if (t.result().state === 'skipped') skipped.push(`${m.moduleId}: ${t.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    console.error(`CI: ${skipped.length} test(s) skipped, none may be:\n  ${skipped.join('\n  ')}`);
    process.exitCode = 1;
  }
}
