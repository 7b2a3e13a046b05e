// Child processes a test started and has not seen exit. A test that fails or times out while
// one runs (a storm, a holder) must not leave it running into the next test: test/setup.ts
// kills them after every test.
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

/** Registers `child` until it exits; returns it. */
export function track<T extends ChildProcess>(child: T): T {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
