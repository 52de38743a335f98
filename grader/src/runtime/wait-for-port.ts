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

export interface WaitOptions {
  readonly endpoint: Endpoint;
  readonly containerPort: number;
  readonly timeoutMs: number;
  readonly exitStatus: () => Promise<ExitStatus | undefined>;
  readonly logs: () => Promise<string>;
  /** How long a fresh connection must stay open to count (0: connected is enough). */
  readonly settleMs?: number;
}

export function describeExit(status: ExitStatus): string {
  if (status.oomKilled) return 'was killed for exceeding its memory limit';
  if (status.signal) return `was killed by ${status.signal}`;
  return `exited with code ${status.exitCode}`;
}

/** Polls a TCP connect until the server accepts, it exits, or the timeout passes. */
export async function waitForListening(options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await tryConnect(options.endpoint, 1_000, options.settleMs ?? 0)) return;
    const exit = await options.exitStatus();
    if (exit) {
      throw new SubmissionStartError(
        `your server ${describeExit(exit)} before listening on PORT ${options.containerPort}` +
          formatLogTail(await options.logs()),
      );
    }
    await sleep(50);
  }
  throw new SubmissionStartError(
    `your server did not listen on PORT ${options.containerPort} within ${options.timeoutMs} ms` +
      formatLogTail(await options.logs()),
  );
}

export function formatLogTail(logs: string): string {
  const text = logs.trimEnd();
  return text === '' ? ' (it printed nothing)' : `; its last output:\n${text}`;
}

/** Waits until a just-started submission listens; stops it and rethrows if it never does. */
export async function awaitListening(started: StartedSubmission, port: number, timeoutMs: number, settleMs = 0): Promise<void> {
  await waitForListening({
    settleMs,
    endpoint: started.endpoint,
    containerPort: port,
    timeoutMs,
    exitStatus: () => started.exitStatus(),
    logs: () => started.logs(),
  }).catch(async (error) => {
    await started.stop();
    throw error;
  });
}
