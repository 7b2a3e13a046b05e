// heap_target (heap_target.c): a process with a known heap, for the tests that read or write
// another process's memory through its mem file and check what was counted.
import { type ChildProcess, spawn } from 'node:child_process';
import { cHelper } from './live.js';

/** Starts heap_target with `bytes` of heap; resolves with its pid and heap address (hex). */
export function spawnHeapTarget(
  bytes: number,
): Promise<{ child: ChildProcess; pid: number; addr: string }> {
  const child = spawn(cHelper('heap_target'), [String(bytes)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      if (!out.includes('\n')) return;
      const [pid, addr] = out.trim().split(' ');
      resolve({ child, pid: Number(pid), addr: addr as string });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`heap_target exited ${code}`)));
  });
}
