// The event-loop exercise's second language, graded for real on the docker runtime: the C
// reference on epoll passes the same suite in one thread, and the C starter builds and fails.
// (The TypeScript set, reference, starter and variants, is exercise-check.test.ts.)
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { GradeReport } from '../src/report/grade-report.ts';
import { repoRoot } from '../src/paths.ts';
import { gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

/** The measurements of the 5,000-connection test: connections, threads, memory. */
function crowdMeasurements(report: GradeReport): Readonly<Record<string, number>> | undefined {
  return report.tests.find((t) => t.measurements?.connections !== undefined)?.measurements;
}

describe('event-loop on the docker runtime', () => {
  test('the C reference solution on epoll passes the same suite with exactly one thread', async () => {
    const { code, report, stderr } = await gradeJson([
      'event-loop',
      '--submission',
      path.join(repoRoot, 'solutions', '04-event-loop', 'c'),
      '--runtime',
      'docker',
    ]);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.submission.kind).toBe('dockerfile');
    expect(report.points).toBe(100);
    expect(crowdMeasurements(report)).toMatchObject({ connections: 5_000, threads: 1 });
  });

  test('the C starter builds, fails stage 1 (exit 1) and scores 0', async () => {
    await expectStarterStopsAtStage1('event-loop', 6, path.join(repoRoot, 'exercises', '04-event-loop', 'c'));
  });
});
