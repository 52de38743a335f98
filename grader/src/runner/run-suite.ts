import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Vitest } from 'vitest/node';
import type * as VitestNode from 'vitest/node';
import type * as FileOrder from './file-order.ts';
import { GraderError, InfrastructureError } from '../errors.ts';
import { logger } from '../log.ts';
import { harnessEntry } from '../paths.ts';
import type { RunContext } from '../runtime/context.ts';
import { CollectReporter } from './collect-reporter.ts';
import type { SuiteRun, TestOutcome } from './outcome.ts';
import type { StartedRun } from './start-run.ts';

const log = logger('runner');

export interface RunSuiteOptions {
  readonly suiteDir: string;
  /** Test files relative to suiteDir; all `*.test.ts` when absent. */
  readonly files?: readonly string[];
  readonly context: RunContext;
  /** Only test names matching this pattern. */
  readonly testNamePattern?: string;
  /** Stop the run at its first failing test; the tests after it are reported skipped. */
  readonly bail?: boolean;
  readonly onTest?: (outcome: TestOutcome) => void;
  readonly onTestStart?: (test: { name: string; stage: number | undefined }) => void;
  /** The run this suite belongs to: disposing of it stops the workers first, so none creates a container after. */
  readonly run: Pick<StartedRun, 'trackSuite'>;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Vitest's logger exits the process on SIGINT/SIGTERM 1 ms after the signal, which would cut
 * our cleanup short and leave containers behind; the CLI owns signals, so drop what vitest added.
 */
function releaseSignals(before: ReadonlyArray<readonly [NodeJS.Signals, NodeJS.SignalsListener[]]>): void {
  for (const [signal, listeners] of before) {
    for (const listener of process.listeners(signal)) {
      if (!listeners.includes(listener)) process.off(signal, listener);
    }
  }
}

/** How long a test under way may take to notice that its run is being removed, before its worker is killed. */
const GRACE_MS = 1_000;

/**
 * Stops a run under way without waiting for its test to end (a test may wait 40 s): vitest's
 * pool asks its workers to stop on the first cancel and kills them on the second, as a second
 * Ctrl-C does in vitest's own CLI.
 */
async function interrupt(vitest: Vitest): Promise<void> {
  const cancelled = vitest.cancelCurrentRun('keyboard-input');
  const inTime = await Promise.race([cancelled.then(() => true), sleep(GRACE_MS, false, { ref: false })]);
  if (!inTime) await vitest.cancelCurrentRun('keyboard-input');
  await vitest.close();
}

/**
 * Runs a hidden (or visible) vitest suite programmatically: one file at a time, so timing
 * tests do not compete for the two cores, with the run context provided to the workers.
 */
/**
 * Starts loading the test runner (vitest's node API: 1.3 s of imports here) while the caller
 * waits on other things, the engine and image checks for one; runSuite uses the same load.
 */
export function preloadRunner(): void {
  loadRunner().catch(() => {});
}

let runner: Promise<[typeof VitestNode, typeof FileOrder]> | undefined;
function loadRunner(): Promise<[typeof VitestNode, typeof FileOrder]> {
  runner ??= Promise.all([import('vitest/node'), import('./file-order.ts')]);
  return runner;
}

export async function runSuite(options: RunSuiteOptions): Promise<SuiteRun> {
  const [{ createVitest }, { StageOrderSequencer }] = await loadRunner();
  const reporter = new CollectReporter(options.suiteDir, options.onTest, options.onTestStart);
  const exitCodeBefore = process.exitCode;
  log(`Running suite ${options.suiteDir}...`);
  let close: (() => Promise<void>) | undefined;
  let untrack: (() => void) | undefined;
  const signalListeners = SIGNALS.map((signal) => [signal, process.listeners(signal)] as const);
  try {
    const vitest = await createVitest(
      'test',
      {
        config: false,
        root: options.suiteDir,
        dir: options.suiteDir,
        include: options.files ? [...options.files] : ['**/*.test.ts'],
        watch: false,
        reporters: [reporter],
        provide: { netkata: options.context },
        testTimeout: options.context.limits.testTimeoutMs,
        hookTimeout: options.context.limits.startupTimeoutMs + 60_000,
        teardownTimeout: 30_000,
        fileParallelism: false,
        sequence: { sequencer: StageOrderSequencer },
        pool: 'forks',
        // One worker for all of a run's files, one after another: the harness, testcontainers and the
        // Docker connection are loaded once, not per file (0.5-0.8 s each). Each file still starts
        // its own submission, so nothing of the learner's program carries over between files.
        isolate: false,
        passWithNoTests: false,
        testNamePattern: options.testNamePattern,
        ...(options.bail && { bail: 1 }),
        // Test files live outside node_modules; their `netkata/harness` import is ours.
        alias: { 'netkata/harness': harnessEntry },
      },
      {
        cacheDir: path.join(os.tmpdir(), 'netkata-vite-cache'),
        logLevel: 'silent',
        server: { fs: { strict: false } },
      },
    );
    releaseSignals(signalListeners);
    let closing: Promise<void> | undefined;
    close = () => (closing ??= vitest.close());
    untrack = options.run.trackSuite(() => (closing ??= interrupt(vitest)));
    await vitest.start();
  } catch (error) {
    if (error instanceof GraderError) throw error;
    throw new InfrastructureError(`the test runner failed: ${(error as Error).message}`, { cause: error });
  } finally {
    // vitest sets process.exitCode for failed tests; our exit code is decided by the report.
    process.exitCode = exitCodeBefore;
  }
  await close?.();
  untrack?.();
  const run = reporter.run;
  if (!run) throw new InfrastructureError(`the test runner finished without results for ${options.suiteDir}`);
  if (run.tests.length === 0 && run.graderErrors.length === 0) {
    throw new InfrastructureError(`no tests found in ${options.suiteDir}`);
  }
  log(`Suite finished: ${run.tests.length} tests, ${run.graderErrors.length} grader errors`);
  return run;
}
