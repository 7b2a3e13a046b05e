// The syslog outputs of `watch`: the local socket (through util-linux logger), UDP, and TCP
// with octet counting, each an RFC 5424 message per finding.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { type OutputOptions, QueuedOutput } from './queued-output.js';

/** The URL of a syslog:udp:// or syslog:tcp:// spec; throws an Error naming the spec. */
export function hostPort(spec: string, text: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`output "${spec}": expected udp://HOST:PORT or tcp://HOST:PORT`);
  }
  if (!protocols.includes(url.protocol) || !url.hostname || !url.port)
    throw new Error(`output "${spec}": expected udp://HOST:PORT or tcp://HOST:PORT`);
  return url;
}

const SYSLOG_HOST = hostname();

/** RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG; facility auth (4), warning (4). */
export function rfc5424(line: string, date = new Date()): string {
  return `<36>1 ${date.toISOString()} ${SYSLOG_HOST} procmem-guard ${process.pid} finding - ${line}`;
}

/**
 * syslog to the local socket. Node has no Unix datagram sockets, so the messages go through
 * one long-lived util-linux `logger` (absolute path, stdin one message a line), which sends
 * each line as an RFC 5424 datagram to the socket.
 */
export class LocalSyslogOutput extends QueuedOutput {
  #child: ChildProcess | null = null;
  #waiting = false;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
  }
  #start(): ChildProcess | null {
    if (this.#child) return this.#child;
    const child = spawn(
      '/usr/bin/logger',
      [
        '--rfc5424=notq',
        '-u',
        this.options.syslogSocket ?? '/dev/log',
        '-d',
        '-p',
        'auth.warning',
        '-t',
        'procmem-guard',
        '--size',
        '65536',
        '--socket-errors=on',
      ],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    child.on('error', (err) => this.incident(err));
    child.stderr?.on('data', (d) => this.incident(new Error(`logger: ${String(d).trim()}`)));
    child.stdin?.on('error', (err) => this.incident(err));
    child.on('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    this.#child = child;
    return child;
  }
  protected pump(): void {
    if (this.#waiting) return;
    const child = this.#start();
    const stdin = child?.stdin;
    if (!stdin || stdin.destroyed) return;
    while (this.queue.length > 0) {
      const [line] = this.take(1);
      const ok = stdin.write(`${(line as string).replace(/\n/g, ' ')}\n`);
      this.delivered(1);
      if (!ok) {
        this.#waiting = true;
        stdin.once('drain', () => {
          this.#waiting = false;
          this.pump();
        });
        return;
      }
    }
  }
  protected busy(): boolean {
    return this.queue.length > 0 || (this.#child?.stdin?.writableLength ?? 0) > 0;
  }
  protected release(): void {
    const child = this.#child;
    this.#child = null;
    child?.stdin?.end();
  }
}

export class UdpSyslogOutput extends QueuedOutput {
  readonly #url: URL;
  #socket: UdpSocket;
  #inFlight = 0;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
    this.#url = hostPort(spec, spec.slice(7), ['udp:']);
    const host = this.#url.hostname.replace(/^\[|\]$/g, '');
    this.#socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.on('error', (err) => this.incident(err));
  }
  protected pump(): void {
    const host = this.#url.hostname.replace(/^\[|\]$/g, '');
    for (const line of this.take(this.queue.length)) {
      this.#inFlight++;
      this.#socket.send(rfc5424(line), Number(this.#url.port), host, (err) => {
        this.#inFlight--;
        if (err) {
          this.counters.failed++;
          this.incident(err);
        } else this.delivered(1);
      });
    }
  }
  protected busy(): boolean {
    return this.#inFlight > 0 || this.queue.length > 0;
  }
  protected release(): void {
    this.#socket.close();
  }
}

/** syslog over TCP with RFC 6587 octet counting ("LEN MSG"); reconnects with backoff. */
export class TcpSyslogOutput extends QueuedOutput {
  readonly #url: URL;
  #socket: Socket | null = null;
  #connected = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #attempt = 0;
  constructor(spec: string, options: OutputOptions) {
    super(spec, options);
    this.#url = hostPort(spec, spec.slice(7), ['tcp:']);
  }
  #connect(): void {
    if (this.#socket || this.#retryTimer) return;
    const socket = connect({
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.#url.port),
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#attempt = 0;
      this.pump();
    });
    socket.on('error', (err) => this.incident(err));
    socket.on('close', () => {
      this.#socket = null;
      this.#connected = false;
      if (this.closing) return;
      this.#retryTimer = this.retryLater(this.#attempt++, 200, 10_000, () => {
        this.#retryTimer = null;
        if (this.queue.length > 0) this.#connect();
      });
    });
  }
  protected pump(): void {
    if (!this.#connected) {
      if (this.queue.length > 0) this.#connect();
      return;
    }
    const socket = this.#socket as Socket;
    const batch = this.take(this.queue.length);
    if (batch.length === 0) return;
    const frames = batch.map((line) => {
      const msg = rfc5424(line);
      return `${Buffer.byteLength(msg)} ${msg}`;
    });
    // A line counts as delivered once the kernel took it; a reset later loses at most those.
    socket.write(frames.join(''), (err) => {
      if (err) this.counters.failed += batch.length;
      else this.delivered(batch.length);
    });
  }
  protected busy(): boolean {
    return this.queue.length > 0 || (this.#connected && (this.#socket?.writableLength ?? 0) > 0);
  }
  protected release(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#socket?.end();
    this.#socket?.destroy();
  }
}
