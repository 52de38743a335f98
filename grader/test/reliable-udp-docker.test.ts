// The reliable-UDP exercise graded for real on the docker runtime: the solution passes every
// stage under every profile its manifest lists, the starter fails, and each faulty variant fails
// the stage it breaks.
import { describe, expect, test } from 'vitest';
import { expectBreaksStage, fixture, gradeJson, expectStarterStopsAtStage1, failedTests } from './helpers/cli.ts';

describe('reliable-udp on the docker runtime', () => {
  test('the reference solution passes every stage, stage 7 under lossy and chaos', async () => {
    const { code, report, stderr } = await gradeJson(['reliable-udp', '--solution', '--runtime', 'docker']);
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.points).toBe(100);
    expect(report.impairment?.profiles.map((p) => p.name)).toEqual(['clean', 'lossy', 'chaos']);
    const sack = report.tests.find((t) => t.name.includes('resends only what was lost'));
    expect(sack?.measurements?.['retransmissions'], 'the reference resends exactly what was lost').toBe(sack?.measurements?.['lost']);
  });

  test('the starter fails stage 1 (exit 1), scores 0 and runs nothing after it', async () => {
    await expectStarterStopsAtStage1('reliable-udp', 7);
  });

  test.each([
    { name: 'path-escape', breaks: 2 },
    { name: 'fin-once', breaks: 3 },
    { name: 'go-back-n', breaks: 5 },
    { name: 'ignores-sack', breaks: 5 },
    { name: 'never-gives-up', breaks: 6 },
  ])('$name fails stage $breaks and passes the stages before it', async ({ name, breaks }) => {
    await expectBreaksStage('reliable-udp', fixture('reliable-udp', name), breaks);
  });
});
