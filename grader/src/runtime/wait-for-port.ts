import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError } from '../errors.ts';
import type { Endpoint, ExitStatus, StartedSubmission } from './runtime.ts';

/** The submission never listened, or died first: the learner's failure, not the grader's. */
export class SubmissionStartError extends Error {
  readonly code = 'NETKATA_SUBMISSION_START';
  constructor(message: string) {
    super(message);
    this.name = 'SubmissionStartError';
  }
}

/** Connects; with `settleMs`, the connection must also stay open that long (a proxy accepts first, then resets). */
function tryConnect(endpoint: Endpoint, timeoutMs: number, settleMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    let timer: NodeJS.Timeout | undefined;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => {
      if (settleMs === 0) return done(true);
      socket.setTimeout(0);
      timer = setTimeout(() => done(true), settleMs);
    });
    socket.once('close', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Tells whether the server is ready yet, and what "ready" means in messages. */
export interface ReadinessProbe {
  /** "listen on PORT 7000 (TCP)" */
  readonly what: string;
  ready(): Promise<boolean>;
  /** When it never got ready: what it does instead, as far as can be seen ("it listens on 127.0.0.1:7000 only"). */
  explain?(): Promise<string | undefined>;
}

/** An address as /proc/net/tcp{,6} prints it (32-bit words in host order, little-endian here). */
function socketAddress(hex: string): string {
  const ipv4 = (word: string) =>
    word
      .match(/../g)!
      .reverse()
      .map((b) => parseInt(b, 16))
      .join('.');
  if (hex.length === 8) return ipv4(hex);
  if (/^0{32}$/.test(hex)) return '::';
  if (hex === '00000000000000000000000001000000') return '::1';
  if (hex.startsWith('0000000000000000FFFF0000')) return ipv4(hex.slice(24));
  return 'an IPv6 address';
}

/** Listening TCP sockets in /proc/net/tcp and tcp6 text (state 0A), as address and port. */
function listeningSockets(tables: string): Array<{ address: string; port: number }> {
  const found: Array<{ address: string; port: number }> = [];
  for (const line of tables.split('\n')) {
    const match = /^\s*\d+:\s+([0-9A-F]+):([0-9A-F]{4})\s+[0-9A-F]+:[0-9A-F]{4}\s+0A\s/.exec(line);
    if (!match) continue;
    found.push({ address: socketAddress(match[1]!), port: parseInt(match[2]!, 16) });
  }
  return found;
}

/** What a server that did not get ready listens on instead, in words for the learner. */
function explainListening(all: ReadonlyArray<{ address: string; port: number }>, port: number): string | undefined {
  // Docker's embedded DNS listens in every container's namespace, on 127.0.0.11.
  const sockets = all.filter((s) => s.address !== '127.0.0.11');
  if (sockets.length === 0) return 'it has no listening TCP socket at all';
  const loopback = sockets.filter((s) => s.port === port && (s.address.startsWith('127.') || s.address === '::1'));
  if (loopback.length > 0)
    return `it listens on ${loopback[0]!.address}:${port} only, which nothing outside its container can reach: listen on 0.0.0.0 (every address)`;
  const others = [...new Set(sockets.map((s) => s.port))].sort((a, b) => a - b);
  return `it listens on port ${others.join(', ')} instead: use the port in process.env.PORT (${port})`;
}

/** Ready once a TCP connect succeeds; with `settleMs`, once the connection also stays open that long. */
export function tcpProbe(endpoint: Endpoint, port: number, settleMs = 0, readSocketTables?: () => Promise<string>): ReadinessProbe {
  return {
    what: `listen on PORT ${port}`,
    ready: () => tryConnect(endpoint, 1_000, settleMs),
    ...(readSocketTables
      ? {
          explain: async () => {
            const sockets = listeningSockets(await readSocketTables().catch(() => ''));
            // Listening as asked and never connected to: on a direct path (no settling) a connect
            // needs only the kernel's handshake, so the grader's path to it is broken, not the
            // learner's program. Through the edge, a server that closes every connection at once
            // looks the same, so that is said instead.
            const right = sockets.find((s) => s.port === port && !s.address.startsWith('127.') && s.address !== '::1');
            if (right && settleMs > 0)
              return `it listens on ${right.address}:${port}, but closed every connection within ${settleMs} ms (keep accepted connections open)`;
            if (right)
              throw new InfrastructureError(
                `the submission listens on ${right.address}:${port} as it should, but the grader cannot reach it at ${endpoint.host}:${endpoint.port} (is this grader inside a container, or the engine remote? NETKATA_ENDPOINTS=published makes tests go through published ports)`,
              );
            return explainListening(sockets, port);
          },
        }
      : {}),
  };
}

/**
 * Ready once a UDP socket is bound to `port`, read from the kernel's socket tables
 * (/proc/net/udp and udp6 of the server's network namespace): UDP has no handshake to try, and
 * a datagram sent too early would be lost or answered with ICMP.
 */
export function udpProbe(port: number, readSocketTables: () => Promise<string>): ReadinessProbe {
  const local = new RegExp(`^\\s*\\d+:\\s+[0-9A-F]+:${port.toString(16).toUpperCase().padStart(4, '0')}\\s`, 'm');
  return { what: `bind UDP PORT ${port}`, ready: async () => local.test(await readSocketTables().catch(() => '')) };
}

export interface WaitOptions {
  readonly probe: ReadinessProbe;
  readonly timeoutMs: number;
  readonly exitStatus: () => Promise<ExitStatus | undefined>;
  readonly logs: () => Promise<string>;
  readonly memoryMb?: number;
}

/** How a submission ended, for the learner; with the memory limit when that is what killed it. */
export function describeExit(status: ExitStatus, memoryMb?: number): string {
  if (status.oomKilled)
    return `was killed: it exceeded its ${memoryMb === undefined ? '' : `${memoryMb} MiB `}memory limit (the exercise's README lists its limits)`;
  if (status.signal) return `was killed by ${status.signal}`;
  // A server that forks into the background ends its container with its first process.
  if (status.exitCode === 0)
    return 'exited with code 0 (a server must keep running in the foreground; one that forks into the background ends with its first process)';
  return `exited with code ${status.exitCode}`;
}

/** Polls the probe until the server is ready, it exits, or the timeout passes. */
export async function waitForListening(options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await options.probe.ready()) return;
    const exit = await options.exitStatus();
    if (exit) {
      throw new SubmissionStartError(
        `your server ${describeExit(exit, options.memoryMb)} before it did ${options.probe.what}` + formatLogTail(await options.logs()),
      );
    }
    await sleep(50);
  }
  const instead = await options.probe.explain?.();
  throw new SubmissionStartError(
    `your server did not ${options.probe.what} within ${options.timeoutMs} ms${instead ? `: ${instead}` : ''}` + formatLogTail(await options.logs()),
  );
}

function formatLogTail(logs: string): string {
  const text = logs.trimEnd();
  return text === '' ? ' (it printed nothing)' : `; its last output:\n${text}`;
}

/** Waits until a just-started submission listens; stops it and rethrows if it never does. */
export async function awaitListening(started: StartedSubmission, probe: ReadinessProbe, timeoutMs: number, memoryMb?: number): Promise<void> {
  await waitForListening({
    probe,
    timeoutMs,
    memoryMb,
    exitStatus: () => started.exitStatus(),
    logs: () => started.logs(),
  }).catch(async (error) => {
    await started.stop();
    throw error;
  });
}
