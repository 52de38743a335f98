// The chat-server exercise graded for real on the docker runtime: the solution passes every
// stage under every profile its manifest lists, the starter fails every stage, and each faulty
// variant fails the stage it breaks and passes the ones before it.
import { describe, expect, test } from 'vitest';
import { expectBreaksStage, fixture, gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

describe('chat-server on the docker runtime', () => {
  test('the reference solution passes every stage, stage 6 under wan', async () => {
    const { code, report, stderr } = await gradeJson(['chat-server', '--solution', '--runtime', 'docker']);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.points).toBe(100);
    expect(report.impairment?.profiles.map((p) => p.name)).toEqual(['clean', 'wan']);
    const fanOut = report.tests.find((t) => t.name.startsWith('fan-out to 200 members'));
    expect(fanOut?.measurements?.p99Ms).toBeLessThan(1_000);
  });

  test('the starter fails stage 1 (exit 1), scores 0 and runs nothing after it, each test within seconds', async () => {
    const report = await expectStarterStopsAtStage1('chat-server', 6);
    // It answers every line at once, so no test may wait out a timeout.
    expect(Math.max(...report.tests.map((t) => t.durationMs))).toBeLessThan(3_000);
  });

  test.each([
    { name: 'quit-per-room', breaks: 3 },
    { name: 'unordered-fanout', breaks: 4 },
    { name: 'no-heartbeat', breaks: 5 },
    { name: 'blocking-fanout', breaks: 5 },
  ])('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    await expectBreaksStage('chat-server', fixture('chat-server', name), breaks);
  });
});
