import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
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
}

/** Ready once a TCP connect succeeds; with `settleMs`, once the connection also stays open that long. */
export function tcpProbe(endpoint: Endpoint, port: number, settleMs = 0): ReadinessProbe {
  return { what: `listen on PORT ${port}`, ready: () => tryConnect(endpoint, 1_000, settleMs) };
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
}

export function describeExit(status: ExitStatus): string {
  if (status.oomKilled) return 'was killed for exceeding its memory limit';
  if (status.signal) return `was killed by ${status.signal}`;
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
        `your server ${describeExit(exit)} before it did ${options.probe.what}` +
          formatLogTail(await options.logs()),
      );
    }
    await sleep(50);
  }
  throw new SubmissionStartError(
    `your server did not ${options.probe.what} within ${options.timeoutMs} ms` +
      formatLogTail(await options.logs()),
  );
}

export function formatLogTail(logs: string): string {
  const text = logs.trimEnd();
  return text === '' ? ' (it printed nothing)' : `; its last output:\n${text}`;
}

/** Waits until a just-started submission listens; stops it and rethrows if it never does. */
export async function awaitListening(started: StartedSubmission, probe: ReadinessProbe, timeoutMs: number): Promise<void> {
  await waitForListening({
    probe,
    timeoutMs,
    exitStatus: () => started.exitStatus(),
    logs: () => started.logs(),
  }).catch(async (error) => {
    await started.stop();
    throw error;
  });
}
