// The event-loop exercise graded for real on the docker runtime: the TypeScript and the C
// reference solutions pass every stage, both starters fail, and each faulty variant fails the
// stage it breaks.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { GradeReport } from '../src/report/grade-report.ts';
import { repoRoot } from '../src/paths.ts';
import { expectBreaksStage, fixture, gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

/** The measurements of the 5,000-connection test: connections, threads, memory. */
function crowdMeasurements(report: GradeReport): Readonly<Record<string, number>> | undefined {
  return report.tests.find((t) => t.measurements?.connections !== undefined)?.measurements;
}

describe('event-loop on the docker runtime', () => {
  test('the TypeScript reference solution passes every stage; the report records its threads and memory', async () => {
    const { code, report, stderr } = await gradeJson(['event-loop', '--solution', '--runtime', 'docker']);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.points).toBe(100);
    expect(report.impairment?.profiles.map((p) => p.name)).toEqual(['clean']);
    const crowd = crowdMeasurements(report);
    expect(crowd?.connections).toBe(5_000);
    // Node always runs helper threads (libuv's pool, V8's platform): reported, not graded.
    expect(crowd?.threads).toBeGreaterThanOrEqual(1);
    expect(crowd?.memoryBytes).toBeGreaterThan(0);
  });

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

  test('the TypeScript starter fails stage 1 (exit 1), scores 0 and runs nothing after it, quickly', async () => {
    const report = await expectStarterStopsAtStage1('event-loop', 6);
    expect(report.durationMs).toBeLessThan(60_000);
  });

  test('the C starter builds, fails stage 1 (exit 1) and scores 0', async () => {
    await expectStarterStopsAtStage1('event-loop', 6, path.join(repoRoot, 'exercises', '04-event-loop', 'c'));
  });

  test.each([
    { name: 'out-of-order', breaks: 3 },
    { name: 'no-backpressure', breaks: 4 },
    { name: 'blocking-sleep', breaks: 5 },
    { name: 'slowloris', breaks: 6 },
    { name: 'abrupt-shutdown', breaks: 6 },
  ])('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    await expectBreaksStage('event-loop', fixture('event-loop', name), breaks);
  });
});
