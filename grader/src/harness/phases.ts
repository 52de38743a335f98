import type { RunnerTestFile, RunnerTestSuite } from 'vitest';

/**
 * Times a test file's set-up or teardown step (a submission's or peer's start, their removal)
 * into the file's `meta.phases`, which the runner reports with the file: the benchmark's split
 * of a grade into container starts, impairment set-up, test bodies and teardown.
 */
export async function timePhase<T>(suite: Readonly<RunnerTestSuite | RunnerTestFile>, name: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    const file = suite.file ?? suite;
    const phases = (file.meta.phases ??= {});
    phases[name] = (phases[name] ?? 0) + Math.round(performance.now() - started);
  }
}
