// Start/stop cycles of a ProcMemWatcher in a process of its own, for bench/soak.mjs, which
// samples this process's RSS, fds and threads: for each line "N" on stdin it runs N cycles of
// start() and stop() and prints "done N". Usage:
// node bench/start-stop-child.mjs BACKEND
import { createInterface } from 'node:readline';
import { ProcMemWatcher } from '../dist/index.js';

const watcher = new ProcMemWatcher({ backend: process.argv[2] ?? 'fanotify' });
watcher.on('error', (err) => console.error(`start-stop child: ${err.message}`));
for await (const line of createInterface({ input: process.stdin })) {
  const n = Number(line);
  for (let i = 0; i < n; i++) {
    await watcher.start();
    await watcher.stop();
  }
  console.log(`done ${n}`);
}
