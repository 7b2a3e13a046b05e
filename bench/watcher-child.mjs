// A procmem-guard watcher in its own process, as the storm benchmark runs it: prints
// "ready <backend>" once capture is live; on SIGTERM stops, prints one JSON line
// {stats, rssKb, findings} and exits. Usage: node bench/watcher-child.mjs fanotify|audit|ebpf
// [enforce] [observe-io] (enforce: guard mode with no policy, README "Guard mode"; observe-io:
// proc_mem_io summaries, README "Observed access")
import { ProcMemWatcher } from '../dist/index.js';

const backend = process.argv[2] ?? 'fanotify';
const flags = process.argv.slice(3);
const watcher = new ProcMemWatcher({
  backend,
  enforce: flags.includes('enforce'),
  observeIo: flags.includes('observe-io'),
});
let findings = 0;
watcher.on('finding', () => {
  findings++;
});
watcher.on('error', (err) => console.error(`watcher error: ${err.message}`));
await watcher.start();
console.log(`ready ${watcher.stats().backend}`);
process.on('SIGTERM', async () => {
  const rss = process.memoryUsage().rss;
  await watcher.stop();
  console.log(
    JSON.stringify({ stats: watcher.stats(), rssKb: Math.round(rss / 1024), findings }, (_k, v) =>
      typeof v === 'bigint' ? Number(v) : v,
    ),
  );
  process.exit(0);
});
