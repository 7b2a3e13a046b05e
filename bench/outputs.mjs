// What an output costs per finding: N Finding JSON lines (the sample fixture, repeated) through
// each output kind of `watch --output`, against the stdout output (to /dev/null) in the same
// run. Receivers run in a child process (127.0.0.1 only, and a Unix datagram socket for local
// syslog), so the figures are the sensor's side: wall time from the first write to the last
// delivery, and this process's CPU time, both per finding.
//   node bench/outputs.mjs [N]
import { fork } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOutput } from '../dist/service/outputs.js';

const N = Number(process.argv[2] ?? 20000);
if (process.argv[2] === '--receivers') {
  // Child: the receivers; prints their ports, counts what arrives.
  const { createSocket } = await import('node:dgram');
  const { createServer } = await import('node:net');
  const http = await import('node:http');
  const udp = createSocket('udp4');
  udp.on('message', () => undefined);
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const tcp = createServer((c) => c.resume());
  await new Promise((r) => tcp.listen(0, '127.0.0.1', r));
  const web = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  process.send({ udp: udp.address().port, tcp: tcp.address().port, http: web.address().port });
} else {
  const line = readFileSync(
    new URL('../test/fixtures/tracee-sample.findings.json.jsonl', import.meta.url),
    'utf8',
  ).split('\n')[0];
  const receivers = fork(new URL(import.meta.url).pathname, ['--receivers'], { stdio: 'inherit' });
  const ports = await new Promise((r) => receivers.once('message', r));
  const dir = mkdtempSync(join(tmpdir(), 'pmg-bench-out-'));
  const devnull = createWriteStream('/dev/null');
  const specs = [
    'stdout',
    `file:${join(dir, 'findings.jsonl')}`,
    `syslog:udp://127.0.0.1:${ports.udp}`,
    `syslog:tcp://127.0.0.1:${ports.tcp}`,
    `webhook:http://127.0.0.1:${ports.http}/`,
  ];
  const rows = [];
  for (const spec of specs) {
    const out = createOutput(spec, devnull, { report: (m) => console.error(m), queueLimit: N });
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) out.write(line);
    await out.close(Date.now() + 120_000);
    const wall = Number(process.hrtime.bigint() - t0) / N;
    const cpu = process.cpuUsage(cpu0);
    const c = out.counters;
    rows.push({
      output: spec.replace(/:\/\/.*|:\/.*/, ''),
      'wall ns/finding': Math.round(wall),
      'cpu ns/finding': Math.round(((cpu.user + cpu.system) * 1000) / N),
      delivered: c.delivered,
      failed: c.failed,
      dropped: c.dropped,
    });
  }
  const base = rows[0]['cpu ns/finding'];
  for (const r of rows) r['cpu vs stdout'] = `${(r['cpu ns/finding'] / base).toFixed(1)}x`;
  console.log(`${N} findings of ${Buffer.byteLength(line)} bytes each`);
  console.table(rows);
  receivers.kill();
}
