// watch as a service: every output kind against a real receiver on 127.0.0.1, a webhook that
// fails then recovers, one that never answers, /metrics and /healthz, and the least-privilege
// run as a non-root uid.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILURE, EXIT_OK } from '../../src/cli/exit-codes.js';
import { REQUIRED_CAPABILITIES } from '../../src/service/capabilities.js';
import { serveMetrics } from '../../src/service/metrics.js';
import { ProcMemWatcher } from '../../src/watcher/watcher.js';
import { track } from '../helpers/children.js';
import { cHelper, itBackends, liveName, runsHere, spawnTarget, waitFor } from '../helpers/live.js';
import { cli, freePort, readMem, started, startWatch } from '../helpers/watch-process.js';

const listen = (server: Server) =>
  new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
  );
const body = (req: IncomingMessage) =>
  new Promise<string>((r) => {
    let s = '';
    req.on('data', (d) => {
      s += d;
    });
    req.on('end', () => r(s));
  });

/** The measured capability sets (src/service/capabilities.ts; scripts/measure-caps.mjs). */
const MEASURED_CAPS = Object.fromEntries(
  Object.entries(REQUIRED_CAPABILITIES).map(([b, rs]) => [
    b,
    rs.map((r) => r.cap.replace(/^CAP_/, '').toLowerCase()),
  ]),
);

/** setpriv options: uid and gid 65534, no groups, `set` (e.g. "-all,+sys_admin") as every set. */
const asNobodyWith = (set: string) => [
  '--reuid=65534',
  '--regid=65534',
  '--clear-groups',
  `--inh-caps=${set}`,
  `--ambient-caps=${set}`,
  `--bounding-set=${set}`,
];

describe.skipIf(!runsHere())(liveName('watch outputs, metrics and least privilege (live)'), () => {
  it('a read reaches file, local syslog, udp and tcp syslog, and a webhook that answers 500 for a while', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmg-out-'));
    // Local syslog: a Unix datagram listener stands in for /dev/log.
    const sock = join(dir, 'log.sock');
    const dgram = track(
      spawn(cHelper('dgram_listen'), [sock], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    let local = '';
    dgram.stdout.on('data', (d) => {
      local += d;
    });
    await waitFor('the datagram listener', () => local.includes('ready'));
    const udp = createSocket('udp4');
    let udpText = '';
    udp.on('message', (m) => {
      udpText += `${m}\n`;
    });
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    let tcpText = '';
    const tcp = createTcpServer((c) =>
      c.on('data', (d) => {
        tcpText += d;
      }),
    );
    const tcpPort = await listen(tcp as unknown as Server);
    let failuresLeft = 3;
    const posted: string[] = [];
    const auth: (string | undefined)[] = [];
    const http = createHttpServer(async (req, res) => {
      const text = await body(req);
      auth.push(req.headers.authorization);
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end();
        return;
      }
      posted.push(text);
      res.writeHead(204).end();
    });
    const httpPort = await listen(http);
    const file = join(dir, 'findings.jsonl');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'backend: fanotify',
        'metrics: 127.0.0.1:0',
        'outputs:',
        `  - file:${file}`,
        '  - spec: syslog',
        `    socket: ${sock}`,
        `  - syslog:udp://127.0.0.1:${(udp.address() as AddressInfo).port}`,
        `  - syslog:tcp://127.0.0.1:${tcpPort}`,
        `  - spec: webhook:http://127.0.0.1:${httpPort}/in`,
        '    headersFromEnv: { Authorization: PMG_TEST_TOKEN }',
        '    retryBaseMs: 50',
        '    retryMaxMs: 200',
        '',
      ].join('\n'),
    );
    process.env.PMG_TEST_TOKEN = 'Bearer t0ken';
    // Flags override the file: metrics on a fixed free port chosen here.
    const metricsPort = await freePort();
    const w = startWatch(['--config', config, '--metrics', `127.0.0.1:${metricsPort}`]);
    const target = spawnTarget();
    try {
      await started(w);
      const dd = await readMem(target.pid);
      const mark = `"hostProcessId":${dd}`;
      await waitFor('the file output', () => readFileSync(file, 'utf8').includes(mark));
      await waitFor('the local syslog datagram', () => local.includes(mark));
      expect(local).toMatch(/procmem-guard/);
      await waitFor('the udp syslog message', () => udpText.includes(mark));
      expect(udpText).toMatch(/^<36>1 \S+ \S+ procmem-guard \d+ finding - \{/);
      await waitFor('the tcp syslog frame', () => tcpText.includes(mark));
      const frame = /^(\d+) (<36>1 [\s\S]*)$/.exec(tcpText);
      expect(Number(frame?.[1])).toBe(Buffer.byteLength(frame?.[2] ?? ''));
      await waitFor('the webhook after its failures', () => posted.join('').includes(mark), 15_000);
      expect(auth.every((a) => a === 'Bearer t0ken')).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^procmem_guard_findings_total\{signature="TRC-1023"\} [1-9]/m);
      expect(metrics).toMatch(
        /^procmem_guard_output_retries_total\{output="webhook:[^"]+"\} [1-9]/m,
      );
      expect(metrics).toMatch(
        /^procmem_guard_output_delivered_total\{output="webhook:[^"]+"\} [1-9]/m,
      );
      expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(EXIT_OK);
      expect(w.err()).toMatch(/output webhook:\S+: HTTP 500/);
      expect(w.err().match(/HTTP 500/g)?.length).toBe(1); // once per incident
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
      dgram.kill();
      udp.close();
      tcp.close();
      http.closeAllConnections();
      http.close();
      delete process.env.PMG_TEST_TOKEN;
    }
  });

  it('file: is re-opened on SIGHUP (logrotate): the next finding lands in the new file; delivery counts go on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmg-out-'));
    const file = join(dir, 'findings.jsonl');
    const metricsPort = await freePort();
    const w = startWatch([
      '--backend',
      'fanotify',
      '--output',
      `file:${file}`,
      '--metrics',
      `127.0.0.1:${metricsPort}`,
    ]);
    const target = spawnTarget();
    // The file output's delivered_total as scraped now.
    const delivered = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m = text.match(/^procmem_guard_output_delivered_total\{output="file:[^"]+"\} (\d+)$/m);
      return m ? Number(m[1]) : -1;
    };
    try {
      await started(w);
      const first = await readMem(target.pid);
      await waitFor('the first finding', () =>
        readFileSync(file, 'utf8').includes(`"hostProcessId":${first}`),
      );
      const before = await delivered();
      expect(before).toBeGreaterThanOrEqual(1);
      renameSync(file, `${file}.1`);
      w.child.kill('SIGHUP');
      await waitFor('the reload', () => w.err().includes('files re-opened'));
      const second = await readMem(target.pid);
      await waitFor(
        'the second finding in the new file',
        () => existsSync(file) && readFileSync(file, 'utf8').includes(`"hostProcessId":${second}`),
      );
      expect(readFileSync(`${file}.1`, 'utf8')).not.toContain(`"hostProcessId":${second}`);
      // The reload replaced the output; its counter carries on (a Prometheus counter that went
      // back to 0 would read as a restart).
      // back to 0 would read as a restart). Other tests' reads may add findings meanwhile: the
      // scrape counts at least every line already in both files.
      const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length;
      const inFiles = lines(`${file}.1`) + lines(file);
      expect(inFiles).toBeGreaterThan(before);
      expect(await delivered()).toBeGreaterThanOrEqual(inFiles);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(EXIT_OK);
      // Everything is written by the exit: the summary counts both files' lines.
      const total = lines(`${file}.1`) + lines(file);
      expect(w.err()).toContain(`file:${file} delivered ${total} failed 0`);
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
    }
  });

  it('a failing file output (/dev/full) is counted and reported once; watch and stdout go on', async () => {
    const w = startWatch(['--backend', 'fanotify', '-o', 'file:/dev/full', '-o', 'stdout']);
    const target = spawnTarget();
    try {
      await started(w);
      const reads = [await readMem(target.pid), await readMem(target.pid)];
      for (const pid of reads)
        await waitFor('the finding on stdout', () => w.out().includes(`"hostProcessId":${pid}`));
      expect(w.child.exitCode).toBe(null);
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(EXIT_OK);
      expect(w.err().match(/output file:\/dev\/full: ENOSPC/g)?.length).toBe(1);
      expect(w.err()).toMatch(/file:\/dev\/full delivered 0 failed [1-9]/);
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
    }
  });

  it('a webhook that never answers fills its bounded queue; drops are counted and capture goes on', async () => {
    const silent = createTcpServer(() => undefined); // accepts, never answers
    const port = await listen(silent as unknown as Server);
    const dir = mkdtempSync(join(tmpdir(), 'pmg-out-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'backend: fanotify',
        'flushTimeoutMs: 500',
        'outputs:',
        '  - stdout',
        `  - spec: webhook:http://127.0.0.1:${port}/`,
        '    queueLimit: 3',
        '    timeoutMs: 60000',
        '',
      ].join('\n'),
    );
    const w = startWatch(['--config', config]);
    const target = spawnTarget();
    try {
      await started(w);
      const reads = 8;
      for (let i = 0; i < reads; i++) await readMem(target.pid);
      await waitFor(
        'every finding on stdout',
        () =>
          w
            .out()
            .split('\n')
            .filter((l) => l.includes('TRC-1023')).length >= reads,
      );
      w.child.kill('SIGTERM');
      expect((await w.exited).code).toBe(EXIT_OK);
      const summary =
        w
          .err()
          .split('\n')
          .find((l) => l.includes('stopped on SIGTERM')) ?? '';
      const hook = /webhook:\S+ delivered (\d+) failed (\d+) dropped (\d+)/.exec(summary);
      expect(Number(hook?.[1])).toBe(0);
      expect(Number(hook?.[3])).toBeGreaterThanOrEqual(reads - 3);
      expect(Number(hook?.[2]) + Number(hook?.[3])).toBeGreaterThanOrEqual(reads);
      expect(w.err()).toMatch(/queue full \(3 lines\); dropping findings, counted/);
    } finally {
      w.child.kill('SIGKILL');
      target.kill();
      silent.close();
    }
  });

  it('/healthz is 200 while capture runs, 503 after it stops; /metrics counts the read', async () => {
    const watcher = new ProcMemWatcher({ backend: 'fanotify' });
    await watcher.start();
    const server = await serveMetrics('127.0.0.1', 0, watcher, () => []);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const target = spawnTarget();
    try {
      const got = new Promise((r) => watcher.once('finding', r));
      await readMem(target.pid);
      await got;
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
        /^procmem_guard_findings_total\{signature="TRC-1023"\} 1$/m,
      );
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await watcher.stop();
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
    } finally {
      target.kill();
      await watcher.stop();
      server.close();
    }
  });

  it('doctor with only CAP_SYS_ADMIN (the old advice) names the missing capabilities and fails', async () => {
    const only = '-all,+sys_admin';
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = track(
        spawn('/usr/bin/setpriv', [
          ...asNobodyWith(only),
          process.execPath,
          cli,
          'doctor',
          '--backend',
          'fanotify',
        ]),
      );
      let out = '';
      c.stdout.on('data', (d) => {
        out += d;
      });
      c.on('close', (code) => resolve({ code, out })); // after its output was read
    });
    expect(r.out).toMatch(/^capabilities \(fanotify\) MISSING CAP_SYS_PTRACE .*CAP_NET_ADMIN/m);
    expect(r.out).toMatch(
      /^self-test\s+FAIL: capture is incomplete without CAP_SYS_PTRACE CAP_NET_ADMIN/m,
    );
    expect(r.code).toBe(EXIT_FAILURE);
  });

  const caps = MEASURED_CAPS as Record<string, string[]>;
  itBackends(
    Object.keys(caps),
    (backend) =>
      `${backend}: watch as uid 65534 with only ${caps[backend]?.join(',')} reports another user's read`,
    async (backend) => {
      const set = `-all,${(caps[backend] ?? []).map((c) => `+${c}`).join(',')}`;
      const w = startWatch(['--backend', backend], {
        command: '/usr/bin/setpriv',
        prefix: asNobodyWith(set),
      });
      const target = spawnTarget(); // a root process: another user's
      try {
        await started(w);
        const dd = await readMem(target.pid);
        await waitFor('the finding', () => w.out().includes(`"hostProcessId":${dd}`));
        expect(w.out()).toContain('"processName":"dd"');
        w.child.kill('SIGINT');
        expect((await w.exited).code).toBe(EXIT_OK);
        expect(w.err()).toMatch(/findings [1-9]\d*, lost 0;/);
        expect(w.err()).not.toMatch(/could not be opened|Permission denied/);
      } finally {
        w.child.kill('SIGKILL');
        target.kill();
      }
    },
  );
});
