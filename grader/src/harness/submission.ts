import path from 'node:path';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { TestArtifacts } from '../artifacts.ts';
import { saveFailureArtifacts } from './failure-artifacts.ts';
import { timePhase } from './phases.ts';
import { InfrastructureError, isGraderFault } from '../errors.ts';
import { integrityFault } from '../impairment/link-integrity.ts';
import { CONTEXT_KEY, type FigureLimit, type RunContext } from '../runtime/context.ts';
import { createRuntime } from '../runtime/create-runtime.ts';
import type { Endpoint, ExitStatus, ProcessStats, StartedSubmission } from '../runtime/runtime.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, SubmissionStartError } from '../runtime/wait-for-port.ts';
import { TcpConnection, type ConnectOptions } from './tcp.ts';
import type { ImpairmentBackend } from '../impairment/backend-commands.ts';
import { isCleanLink, loadProfile, parseProfile, type LinkSpec, type Profile } from '../impairment/profile.ts';
import { Transcript } from './transcript.ts';
import type { FileTree } from '../runtime/files.ts';
import { UdpSocket, type UdpOptions } from './udp.ts';

declare module 'vitest' {
  interface TaskMeta {
    /** Stage this test belongs to (manifest `stages[].stage`). */
    stage?: number;
    points?: number;
    /** Bytes sent and received, attached when the test fails. */
    transcript?: string;
    /** The submission's last output, attached when the test fails. */
    serverLog?: string;
    /** Figures a test measured (bytes before a stall, RTTs...), reported pass or fail. */
    measurements?: Record<string, number>;
    /** The limit each of `measurements` is held to, where the test declares one (see figure()). */
    limits?: Record<string, FigureLimit>;
    /** A test file's: how long its set-up and teardown steps took, in ms (see timePhase). */
    phases?: Record<string, number>;
    /** Where a failed test's artifacts are (`grade --artifacts DIR`). */
    artifacts?: TestArtifacts;
  }
}

export function runContext(): RunContext {
  const context = inject(CONTEXT_KEY);
  if (!context) {
    throw new InfrastructureError(`no netkata run context: run these tests with \`npx netkata test <exercise>\` or \`npx netkata grade <exercise>\``);
  }
  return context;
}

/** The network between the tests and the submission, changeable while a test runs. */
export interface LinkHandle {
  /** The profile in force now. */
  readonly profile: LinkSpec;
  readonly backend: ImpairmentBackend;
  /** True when the link does anything at all: tests scale their volumes down on a bad link. */
  readonly impaired: boolean;
  /** A built-in profile by name, or a profile object (validated like one). */
  set(profile: string | Profile): Promise<void>;
  /** Nothing gets through either way until heal(). */
  partition(): Promise<void>;
  heal(): Promise<void>;
  /** Counters of the userspace engine, when that is the backend. */
  stats(): Promise<Record<string, number> | undefined>;
}

export interface SubmissionHandle {
  /** Where the submission listens. Valid inside tests. */
  readonly endpoint: Endpoint;
  /**
   * The address the submission sees a test's connection come from, given the connection's local
   * address: that address itself, or the edge's when tests go through published ports.
   */
  clientAddressOf(localAddress: string): string;
  readonly link: LinkHandle;
  readonly context: RunContext;
  /** Opens a TCP connection whose bytes go into this test's transcript. */
  connect(options?: ConnectOptions): Promise<TcpConnection>;
  /** Opens a UDP socket connected to the submission; its datagrams go into the transcript. */
  udp(options?: UdpOptions): Promise<UdpSocket>;
  logs(maxLines?: number): Promise<string>;
  /** Fails the test if the submission is no longer running (crashed, OOM-killed). */
  assertRunning(): Promise<void>;
  /** Threads and memory of the submission now; fails the test if it is not running. */
  processStats(): Promise<ProcessStats>;
  /** Sends a signal to the submission (it goes into the transcript). Use last in a file: the submission may exit. */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** How the submission exited, once it has; undefined if it still runs after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<ExitStatus | undefined>;
}

/**
 * A test a gated grade did not run because an earlier test of the file showed the submission
 * silent or gone: the learner's failure, with the first test's reason.
 */
class SilentSubmissionError extends Error {}

/** How long a failing test that saw the server hang up waits for the engine to report an exit. */
const EXIT_NOTICE_MS = 3_000;

/**
 * Starts the submission once for this test file (a fresh process per file, so stages do not
 * leak state into each other), with `files` in a read-only folder named by FILES_DIR. Records a
 * transcript per test and attaches it, with the submission's last output, to any failing test.
 */
export function useSubmission(
  options: {
    /** Or a function, called when the submission starts: after earlier beforeAll hooks (peers, local helpers) have run. */
    env?: Record<string, string> | (() => Record<string, string>);
    files?: FileTree;
    /** A folder of `files` that FILES_DIR names instead of their root (see StartOptions.filesRoot). */
    filesRoot?: string;
  } = {},
): SubmissionHandle {
  let started: StartedSubmission | undefined;
  let startError: Error | undefined;
  let transcript = new Transcript();
  let connections: Array<TcpConnection | UdpSocket> = [];
  let counter = 0;
  let linkChanged = false;
  /** The link's counters at the end of the last test: where the next one's check starts (one exec per test). */
  let linkLast: Record<string, number> | undefined;
  /** Whether the submission has sent a byte in any test of this file so far. */
  let heardFrom = false;
  /** Set in a gated grade once a test failed with the submission silent or gone: why the rest fail at once. */
  let failFastReason: string | undefined;
  const context = runContext();

  beforeAll(async ({}, suite) => {
    const runtime = await timePhase(suite, 'runtime connect', () => createRuntime(context));
    try {
      const env = typeof options.env === 'function' ? options.env() : options.env;
      started = await timePhase(suite, 'submission start', () =>
        runtime.start({ env, files: options.files, ...(options.filesRoot !== undefined && { filesRoot: options.filesRoot }), limits: context.limits }),
      );
    } catch (error) {
      // Remember a learner's start failure so each test reports it, instead of one hook error.
      if (error instanceof SubmissionStartError) startError = error;
      else throw error;
    }
  }, context.limits.startupTimeoutMs + 60_000);

  afterAll(async ({}, suite) => {
    await timePhase(suite, 'submission stop', async () => started?.stop());
  }, 30_000);

  beforeEach(async (test) => {
    const startedAtMs = Date.now();
    if (startError) throw startError;
    if (failFastReason) throw new SilentSubmissionError(failFastReason);
    // The link's counters now, to tell after the test whether it was the profile throughout.
    const linkBefore = linkLast ?? (await started?.link.stats());
    linkLast = undefined;
    transcript = new Transcript();
    counter = 0;
    const mine: Array<TcpConnection | UdpSocket> = (connections = []);
    test.onTestFailed(async () => {
      // "the server closed the connection" says less than "your server exited with code 1". The
      // engine takes a moment to notice an exit, over a second on a loaded machine (CI saw 0.6 s
      // miss it): after a hang-up, look for up to 3 s. A server that hung up and still runs pays
      // that once per failing test; one that exited is reported as soon as the engine knows.
      const deadline = Date.now() + (transcript.serverHungUp ? EXIT_NOTICE_MS : 0);
      while (started) {
        const exit = await started.exitStatus().catch(() => undefined);
        if (exit) {
          transcript.record('server', 'note', `the submission ${describeExit(exit, context.limits.memoryMb)}`);
          break;
        }
        if (Date.now() >= deadline) break;
        await sleep(100);
      }
      heardFrom ||= transcript.bytesReceived > 0;
      if (context.failFast && !failFastReason) {
        const exit = started ? await started.exitStatus().catch(() => undefined) : undefined;
        if (exit) failFastReason = `not run: the submission ${describeExit(exit, context.limits.memoryMb)} during "${test.task.name}" (see that test's output)`;
        else if (!heardFrom)
          failFastReason = `not run: "${test.task.name}" failed and your submission has not sent a single byte on any connection yet, so every test here would wait out its timeout. Make that test pass first`;
      }
      if (!transcript.isEmpty) test.task.meta.transcript = transcript.render();
      if (started) test.task.meta.serverLog = await started.logs(30);
      if (context.artifactsDir) {
        const failed = {
          file: path.basename(test.task.file.filepath),
          name: test.task.name,
          stage: test.task.meta.stage,
          profile: context.impairment.link.name,
          startedAtMs,
        };
        try {
          test.task.meta.artifacts = await saveFailureArtifacts(context.artifactsDir, failed, transcript, started);
        } catch (error) {
          // Asked for and not written: the grader's failure, said as such, never a silent gap.
          throw new InfrastructureError(`could not write the artifacts of "${test.task.name}" into ${context.artifactsDir}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      }
    });
    test.onTestFinished(async () => {
      heardFrom ||= transcript.bytesReceived > 0;
      await Promise.all(mine.map((c) => c.close()));
      if (linkBefore) await checkLink(linkBefore, test.task.meta, test.task.result?.state === 'pass');
      // A test that cut the link or changed it leaves the next one the file's own profile.
      if (started && linkChanged) {
        linkChanged = false;
        await started.link.set(context.impairment.link);
      }
    });
  });

  const live = () => {
    if (!started) throw startError ?? new Error('the submission is not running (useSubmission() is used inside tests only)');
    return started;
  };

  const link: LinkHandle = {
    get profile() {
      return live().link.profile;
    },
    get backend() {
      return context.impairment.backend;
    },
    get impaired() {
      return !isCleanLink(live().link.profile);
    },
    async set(profile) {
      const spec = typeof profile === 'string' ? loadProfile(profile) : parseProfile('custom', profile);
      linkChanged = true;
      transcript.record('link', 'note', `link set to ${spec.name}`);
      await live().link.set(spec);
    },
    async partition() {
      linkChanged = true;
      transcript.record('link', 'note', 'partition: nothing gets through either way');
      await live().link.partition();
    },
    async heal() {
      transcript.record('link', 'note', `healed: back to ${live().link.profile.name}`);
      await live().link.heal();
    },
    stats: () => live().link.stats(),
  };

  return {
    context,
    link,
    get endpoint() {
      return live().endpoint;
    },
    clientAddressOf: (localAddress) => context.docker?.edge?.runAddress || localAddress,
    async connect(connectOptions: ConnectOptions = {}) {
      const label = connectOptions.label ?? `c${++counter}`;
      try {
        const connection = await TcpConnection.open(live().endpoint, transcript, { ioTimeoutMs: context.ioTimeoutMs, ...connectOptions, label });
        connections.push(connection);
        return connection;
      } catch (error) {
        // "connection refused" says less than "your server was killed for exceeding its memory limit".
        await assertRunning();
        throw error;
      }
    },
    async udp(udpOptions: UdpOptions = {}) {
      const socket = await UdpSocket.open(live().endpoint, transcript, {
        ioTimeoutMs: context.ioTimeoutMs,
        ...udpOptions,
        label: udpOptions.label ?? `u${++counter}`,
      });
      connections.push(socket);
      return socket;
    },
    logs: (maxLines) => live().logs(maxLines),
    assertRunning,
    async signal(signal) {
      transcript.record('server', 'note', `the grader sent ${signal} to the submission`);
      await live().signal(signal);
    },
    async waitForExit(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const exit = await live().exitStatus();
        if (exit) {
          transcript.record('server', 'note', `the submission ${describeExit(exit)}`);
          return exit;
        }
        if (performance.now() >= deadline) return undefined;
        await sleep(50);
      }
    },
    async processStats() {
      const stats = await live().processStats();
      if (stats) return stats;
      await assertRunning();
      throw new InfrastructureError(`the runtime reported no process statistics for a running submission`);
    },
  };

  /**
   * A result on a link that was not the profile does not count: a grader error, or the learner's
   * failure when its own flood overloaded the link (a flood is the learner's failure).
   */
  async function checkLink(before: Record<string, number>, meta: { measurements?: Record<string, number> }, passed: boolean): Promise<void> {
    let after: Record<string, number> | undefined;
    try {
      after = await live().link.stats();
    } catch (error) {
      if (!isGraderFault(error)) throw error;
      throw new InfrastructureError(`${(error as Error).message}: the link was not the profile during this test, so this result does not count`, {
        cause: error,
      });
    }
    linkLast = after;
    const fault = after && integrityFault(before, after);
    if (!fault || !after) return;
    for (const key of ['egress.seen', 'ingress.seen', 'kernel.queue_dropped', 'kernel.user_dropped', 'degraded', 'late']) {
      meta.measurements = { ...meta.measurements, [`link.${key}`]: (after[key] ?? 0) - (before[key] ?? 0) };
    }
    // A pass on a link that only dropped or delayed more than the profile is still a pass.
    if (passed && fault.direction === 'harsher') return;
    transcript.record('link', 'note', fault.message);
    if (fault.cause === 'grader') throw new InfrastructureError(fault.message);
    throw new Error(fault.message);
  }

  /** Fails if the submission has exited. The engine may take a moment to notice an OOM kill, so look twice. */
  async function assertRunning(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const exit = await live().exitStatus();
      if (exit) throw new Error(`your server ${describeExit(exit, context.limits.memoryMb)}`);
      if (attempt === 0) await sleep(300);
    }
  }
}
