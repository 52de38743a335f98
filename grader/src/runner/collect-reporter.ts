import path from 'node:path';
import type { Reporter, SerializedError, TestCase, TestModule } from 'vitest/node';
import { isGraderFault } from '../errors.ts';
import type { ModuleTimings, SuiteRun, TestOutcome } from './outcome.ts';

function errorText(errors: ReadonlyArray<{ message?: string; name?: string }> | undefined): string | undefined {
  if (!errors || errors.length === 0) return undefined;
  return errors
    .map((e) => (e.name && e.name !== 'Error' && e.name !== 'AssertionError' ? `${e.name}: ${e.message}` : (e.message ?? JSON.stringify(e))))
    .join('\n');
}

/** The error of a test its run stopped before (vitest's bail, a cancel): it was not filtered out. */
export const NOT_REACHED = 'not run: the run stopped before this test';

/**
 * Collects test outcomes through vitest's stable reporter hooks (onTestCaseResult, onTestRunEnd)
 * and per-test metadata (stage, points, transcript); never walks raw task trees.
 */
export class CollectReporter implements Reporter {
  private result: SuiteRun | undefined;

  constructor(
    private readonly suiteDir: string,
    private readonly onTest?: (outcome: TestOutcome) => void,
    private readonly onTestStart?: (test: { name: string; stage: number | undefined }) => void,
  ) {}

  onTestCaseReady(testCase: TestCase): void {
    this.onTestStart?.({ name: testCase.name, stage: testCase.meta().stage });
  }

  private outcome(testCase: TestCase): TestOutcome {
    const meta = testCase.meta();
    const result = testCase.result();
    const status = result.state === 'passed' ? 'passed' : result.state === 'failed' ? 'failed' : 'skipped';
    // 'pending' at the end of a run: the run stopped before it (bail, a cancel), unlike a test -t filtered out ('skipped').
    const notReached = result.state === 'pending' ? { error: NOT_REACHED } : {};
    return {
      name: testCase.name,
      file: path.relative(this.suiteDir, testCase.module.moduleId),
      stage: meta.stage,
      points: meta.points,
      status,
      durationMs: Math.round(testCase.diagnostic()?.duration ?? 0),
      error: errorText(result.errors),
      ...notReached,
      transcript: meta.transcript,
      serverLog: meta.serverLog,
      measurements: meta.measurements,
      limits: meta.limits,
      artifacts: meta.artifacts,
    };
  }

  onTestCaseResult(testCase: TestCase): void {
    this.onTest?.(this.outcome(testCase));
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    const tests: TestOutcome[] = [];
    const graderErrors: string[] = [];
    const modules: ModuleTimings[] = [];
    for (const module of testModules) {
      const file = path.relative(this.suiteDir, module.moduleId);
      for (const error of module.errors()) graderErrors.push(`${file}: ${error.message}`);
      let testsMs = 0;
      for (const testCase of module.children.allTests()) {
        const outcome = this.outcome(testCase);
        tests.push(outcome);
        testsMs += testCase.diagnostic()?.duration ?? 0;
        if (testCase.result().errors?.some(isGraderFault)) graderErrors.push(`${file} > ${outcome.name}: ${outcome.error}`);
      }
      const diagnostic = module.diagnostic();
      modules.push({
        file,
        collectMs: Math.round(diagnostic.collectDuration),
        testsMs: Math.round(testsMs),
        hooksMs: Math.max(0, Math.round(diagnostic.duration - testsMs)),
        phases: module.meta().phases ?? {},
      });
    }
    for (const error of unhandledErrors) graderErrors.push(`unhandled error: ${error.message}`);
    this.result = { tests, graderErrors, modules };
  }

  get run(): SuiteRun | undefined {
    return this.result;
  }
}
