// The framing exercise graded for real on the docker runtime: the solution passes every stage
// under every profile its manifest lists, the starter fails, and each faulty variant fails the
// stage it breaks.
import { describe, expect, test } from 'vitest';
import { expectBreaksStage, fixture, gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

describe('framing on the docker runtime', () => {
  test('the reference solution passes every stage, stage 6 under wan and lossy', async () => {
    const { code, report, stderr } = await gradeJson(['framing', '--solution', '--runtime', 'docker']);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.points).toBe(100);
    expect(report.impairment?.profiles.map((p) => p.name)).toEqual(['clean', 'wan', 'lossy']);
  });

  test('the starter fails stage 1 (exit 1), scores 0 and runs nothing after it', async () => {
    await expectStarterStopsAtStage1('framing', 6);
  });

  test.each([
    { name: 'one-frame-per-read', breaks: 2 },
    { name: 'int32-sum', breaks: 3 },
    { name: 'fatal-sum-error', breaks: 4 },
    { name: 'out-of-order', breaks: 5 },
  ])('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    await expectBreaksStage('framing', fixture('framing', name), breaks);
  });
});
