import { beforeAll, beforeEach } from 'vitest';
import { createRuntime } from '../runtime/create-runtime.ts';
import type { RunResult, SubmissionRuntime } from '../runtime/runtime.ts';
import type { FileTree } from '../runtime/files.ts';
import { runContext } from './submission.ts';
import { Transcript } from './transcript.ts';

export interface ClientRun extends RunResult {
  readonly stdoutText: string;
  readonly stderrText: string;
}

export interface ClientRunOptions {
  readonly env?: Record<string, string>;
  readonly files?: FileTree;
  /** Default: the manifest's test timeout, less a margin for the test itself. */
  readonly timeoutMs?: number;
}

/** A command-line submission (a client), as a test file sees it. */
export interface ClientHandle {
  /**
   * Runs the submission once with these arguments, in a fresh sandbox, to completion. Every run
   * gets STATE_DIR: a folder it may write, shared by the runs of one test, empty in the next.
   */
  run(args: readonly string[], options?: ClientRunOptions): Promise<ClientRun>;
  /** STATE_DIR as the submission sees it, to put in arguments (`--session <stateDir>/s`). */
  readonly stateDir: string;
}

/**
 * For exercises whose submission is a command: each run is its own process (its own container
 * on the docker runtime), and what it was given and what it answered go into the test's
 * transcript, shown when the test fails.
 */
export function useClient(): ClientHandle {
  const context = runContext();
  let runtime: SubmissionRuntime | undefined;
  let transcript = new Transcript();
  let counter = 0;

  beforeAll(async () => {
    runtime = await createRuntime(context);
  });

  let tests = 0;
  let state = '';
  beforeEach((test) => {
    transcript = new Transcript();
    counter = 0;
    state = `t${++tests}`;
    const mine = state;
    test.onTestFailed(() => {
      if (!transcript.isEmpty) test.task.meta.transcript = transcript.render();
    });
    test.onTestFinished(async () => {
      await runtime?.dropState(mine);
    });
  });

  return {
    async run(args, options = {}) {
      if (!runtime) throw new Error('useClient() runs submissions inside tests only');
      const label = `run${++counter}`;
      transcript.record(label, 'note', `$ main ${args.map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      const result = await runtime.run({
        args,
        env: options.env,
        files: options.files,
        limits: context.limits,
        timeoutMs: options.timeoutMs ?? Math.max(1_000, context.limits.testTimeoutMs - 5_000),
        state,
      });
      if (result.stdout.length > 0) transcript.record(label, 'received', result.stdout);
      if (result.stderr.length > 0) transcript.record(label, 'note', `stderr: ${result.stderr.toString('utf8').trimEnd().slice(0, 500)}`);
      const how = result.timedOut ? 'killed after its time limit' : result.oomKilled ? 'killed for exceeding its memory limit' : `exit ${result.exitCode}`;
      transcript.record(label, 'note', `${how} after ${Math.round(result.durationMs)} ms`);
      return { ...result, stdoutText: result.stdout.toString('utf8'), stderrText: result.stderr.toString('utf8') };
    },
    get stateDir() {
      if (!runtime) throw new Error('useClient().stateDir is known inside tests only');
      return runtime.stateDir(state);
    },
  };
}
