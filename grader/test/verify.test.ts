import { describe, expect, test } from 'vitest';
import { renderVerify, stabilityOf, type VerifyReport } from '../src/commands/verify.ts';
import type { GradeReport } from '../src/report/grade-report.ts';
import type { TestOutcome } from '../src/runner/outcome.ts';

function report(seed: number, tests: Partial<TestOutcome>[]): GradeReport {
  const outcomes = tests.map((t): TestOutcome => ({ name: 'a', file: '01-a.test.ts', stage: 1, points: 1, status: 'passed', durationMs: 10, ...t }));
  return {
    schemaVersion: 1,
    exercise: { id: 'x', title: 'X' },
    submission: { path: '.', kind: 'typescript' },
    runtime: { kind: 'docker', version: '20.10', isolated: true },
    impairment: { backend: 'userspace', fidelity: 'packet', seed, profiles: [] },
    status: outcomes.every((t) => t.status === 'passed') ? 'pass' : 'fail',
    points: 0,
    maxPoints: 0,
    stages: [],
    tests: outcomes,
    graderErrors: [],
    notices: [],
    startedAt: '',
    durationMs: 1_000,
  };
}

describe('verify: stability over repeated grades', () => {
  test('a test under two profiles is two entries; pass rates count every run', () => {
    const runs = [
      report(1, [{ profile: 'clean' }, { profile: 'wan' }]),
      report(2, [{ profile: 'clean' }, { profile: 'wan', status: 'failed', error: 'expected 5 bytes, got 0\nmore' }]),
      report(3, [{ profile: 'clean' }, { profile: 'wan', status: 'failed', error: 'expected 5 bytes, got 0\nother detail' }]),
    ];
    const [clean, wan] = stabilityOf(runs);
    expect(clean).toMatchObject({ profile: 'clean', runs: 3, passed: 3, failures: [] });
    // The same first line is one failure, counted, with the seed of the first run that failed so.
    expect(wan).toMatchObject({ profile: 'wan', runs: 3, passed: 1, failures: [{ message: 'expected 5 bytes, got 0', seed: 2, count: 2 }] });
  });

  test('a run that never reached a test counts against it', () => {
    const [only] = stabilityOf([report(1, [{}]), report(2, [])]);
    expect(only).toMatchObject({ runs: 2, passed: 1 });
  });

  test("figures: spread over the runs, and the worst run's margin to the declared limit", () => {
    const runs = [30, 24, 41].map((savingMs, i) => report(i, [{ measurements: { savingMs, fullMs: 80 }, limits: { savingMs: { min: 20 } } }]));
    const [t] = stabilityOf(runs);
    expect(t!.figures.savingMs).toEqual({ min: 24, median: 30, max: 41, limit: { min: 20 }, margin: 4, relativeMargin: 0.2 });
    expect(t!.figures.fullMs).toEqual({ min: 80, median: 80, max: 80 });
    const upper = stabilityOf([5, 9].map((ms, i) => report(i, [{ measurements: { ms }, limits: { ms: { max: 8 } } }])));
    // Past the limit: a negative margin.
    expect(upper[0]!.figures.ms).toMatchObject({ margin: -1, relativeMargin: -0.125 });
  });

  test('a limit set from what each run measured (losses + 8) is held against that run, not the first', () => {
    // Run 1: 10 resent of a limit 18 (margin 8); run 2: 30 resent of a limit 33 (margin 3).
    const runs = [
      [10, 18],
      [30, 33],
    ].map(([resent, max], i) => report(i, [{ measurements: { resent: resent! }, limits: { resent: { max: max! } } }]));
    expect(stabilityOf(runs)[0]!.figures.resent).toEqual({ min: 10, median: 30, max: 30, limit: { max: 33 }, margin: 3, relativeMargin: 0.091 });
  });

  test('the text names every test with its rate, figures against limits, and how to replay a failure', () => {
    const runs = [
      report(7, [{ status: 'failed', error: 'boom', measurements: { n: 3 }, limits: { n: { max: 4 } } }]),
      report(8, [{ measurements: { n: 2 }, limits: { n: { max: 4 } } }]),
    ];
    const verify: VerifyReport = {
      exercise: 'x',
      runs: 2,
      startedAt: '',
      machine: { cores: 2, cpu: 'cpu', node: 'v20', runtime: 'docker 20.10', backend: 'userspace' },
      grades: runs.map((r) => ({ status: r.status, points: 0, maxPoints: 0, durationMs: r.durationMs, seed: r.impairment?.seed })),
      tests: stabilityOf(runs),
      graderErrors: [],
      stable: false,
    };
    const text = renderVerify(verify);
    expect(text).toMatch(/! +50 % +1\/2 +stage 1 a/);
    expect(text).toMatch(/n: median 3 \(2-3\), limit ≤ 4, margin 1 \(25 %\)/);
    expect(text).toMatch(/failed 1x: boom \(replay: --seed 7\)/);
    expect(text).toMatch(/^UNSTABLE: 1\/2 grades passed/m);
  });
});
