// Scoring and the learner's view of it, on hand-made runs: stages build on each other, a gated
// grade's unreached stages, independent stages, and the focused pretty report.
import { describe, expect, test } from 'vitest';
import { parseManifest } from '../src/catalog/manifest.ts';
import { scoreRun, type GradeReport } from '../src/report/grade-report.ts';
import { renderJunit } from '../src/report/junit.ts';
import { renderPretty } from '../src/report/pretty.ts';
import type { TestOutcome } from '../src/runner/outcome.ts';

const manifest = (independent3 = false) =>
  parseManifest(
    {
      id: 'kata',
      title: 'Kata',
      summary: 'a kata',
      difficulty: 'intro',
      kind: 'server',
      transport: 'tcp',
      stages: [
        { stage: 1, title: 'One', points: 10, hint: 'listen first' },
        { stage: 2, title: 'Two', points: 10 },
        { stage: 3, title: 'Three', points: 10, independent: independent3 },
      ],
    },
    'test',
  );

const outcome = (stage: number, name: string, status: TestOutcome['status'], error?: string): TestOutcome => ({
  name,
  file: `0${stage}-x.test.ts`,
  stage,
  points: 5,
  status,
  durationMs: 1,
  ...(error ? { error, transcript: `transcript of ${name}`, serverLog: `log of ${name}` } : {}),
});

const frame = {
  schemaVersion: 1 as const,
  exercise: { id: 'kata', title: 'Kata' },
  submission: { path: '.', kind: 'typescript' as const },
  runtime: { kind: 'docker' as const, version: '1', isolated: true },
  notices: [],
  startedAt: new Date(0).toISOString(),
  durationMs: 1,
};

const score = (tests: TestOutcome[], notRun = new Map<number, number>(), independent3 = false): GradeReport =>
  scoreRun(manifest(independent3), { tests, graderErrors: [] }, frame, true, notRun);

describe('scoring', () => {
  test('a passed test earns its points only when every earlier stage passed', () => {
    const report = score([
      outcome(1, 'a', 'passed'),
      outcome(1, 'b', 'failed', 'no'),
      outcome(2, 'c', 'passed'),
      outcome(2, 'd', 'passed'),
      outcome(3, 'e', 'passed'),
      outcome(3, 'f', 'failed', 'no'),
    ]);
    expect(report.stages.map((s) => [s.status, s.points, s.blockedBy])).toEqual([
      ['fail', 5, undefined],
      ['pass', 0, 1],
      ['fail', 0, 1],
    ]);
    expect(report.points).toBe(5);
    expect(report.status).toBe('fail');
  });

  test('an independent stage earns its points whatever came before it, and holds nothing back', () => {
    const report = score(
      [
        outcome(1, 'a', 'failed', 'no'),
        outcome(1, 'b', 'failed', 'no'),
        outcome(2, 'c', 'passed'),
        outcome(2, 'd', 'passed'),
        outcome(3, 'e', 'passed'),
        outcome(3, 'f', 'failed', 'no'),
      ],
      new Map(),
      true,
    );
    expect(report.stages.map((s) => s.points)).toEqual([0, 0, 5]);
    expect(report.points).toBe(5);
  });

  test('stages a gated grade did not reach are not-run, score 0, name the stage to fix, and fail the grade', () => {
    const report = score(
      [outcome(1, 'a', 'passed'), outcome(1, 'b', 'failed', 'no')],
      new Map([
        [2, 1],
        [3, 1],
      ]),
    );
    expect(report.stages.map((s) => [s.status, s.points, s.maxPoints, s.blockedBy])).toEqual([
      ['fail', 5, 10, undefined],
      ['not-run', 0, 10, 1],
      ['not-run', 0, 10, 1],
    ]);
    expect(report.maxPoints).toBe(30);
    expect(report.status).toBe('fail');
  });

  test('a stage that ran must still carry its manifest points (not-run stages are exempt)', () => {
    expect(() =>
      score(
        [outcome(1, 'a', 'passed')],
        new Map([
          [2, 1],
          [3, 1],
        ]),
      ),
    ).toThrow(/stage 1 of kata is worth 10 points in the manifest but its tests add up to 5/);
  });
});

describe('the pretty report is focused', () => {
  const report = score(
    [outcome(1, 'first', 'failed', 'expected 5 bytes\nmore detail'), outcome(1, 'second', 'failed', 'not run: first failed\nsecond line')],
    new Map([
      [2, 1],
      [3, 1],
    ]),
  );

  test('the first failure in full, the others in one line, unreached stages named, one next step', () => {
    const text = renderPretty(report, { again: 'npx netkata grade kata' });
    expect(text).toContain('transcript of first');
    expect(text).toContain('log of first');
    expect(text).not.toContain('transcript of second');
    expect(text).not.toContain('log of second');
    expect(text).toMatch(/✗ second: not run: first failed\n/);
    expect(text).not.toContain('second line');
    expect(text).toMatch(/· stage 2: Two {2}not run: stage 1 first/);
    expect(text).toMatch(/hint: listen first/);
    expect(text).toMatch(
      /next: make stage 1 pass, starting with "first", then run npx netkata grade kata again; later stages run once it does \(--all runs them now\) \(--verbose shows the other 1 failure in full\)/,
    );
  });

  test('--verbose shows every failure in full', () => {
    const text = renderPretty(report, { verbose: true });
    expect(text).toContain('transcript of second');
    expect(text).toContain('second line');
    expect(text).not.toContain('--verbose shows');
  });

  test('tests --bail left out: one line for all of them, not counted as failures; each on its own line with --verbose', () => {
    const why = 'not run: --bail stopped stage 1 at its first failure ("a"); grade without --bail to run it';
    const bailed = score(
      [outcome(1, 'a', 'failed', 'no'), { ...outcome(1, 'b', 'skipped'), error: why }],
      new Map([
        [2, 1],
        [3, 1],
      ]),
    );
    expect(bailed.stages[0]).toMatchObject({ status: 'fail', points: 0 });
    const text = renderPretty(bailed);
    expect(text).toMatch(/ {4}- 1 more not run \(--bail: grade without it to run them\)\n/);
    expect(text).not.toMatch(/✗ b/);
    expect(text).not.toContain('--verbose shows');
    expect(renderPretty(bailed, { verbose: true })).toContain(`    - b: ${why}`);
  });

  test('held-back points say why they are 0', () => {
    const held = score([
      outcome(1, 'a', 'failed', 'no'),
      outcome(1, 'b', 'passed'),
      outcome(2, 'c', 'passed'),
      outcome(2, 'd', 'passed'),
      outcome(3, 'e', 'passed'),
      outcome(3, 'f', 'passed'),
    ]);
    expect(renderPretty(held)).toMatch(/✓ stage 2: Two {2}0\/10 \(counts once stage 1 passes\)/);
  });
});

test('junit lists a stage a gated grade did not reach as one skipped case that says why', () => {
  const report = score(
    [outcome(1, 'a', 'passed'), outcome(1, 'b', 'failed', 'no')],
    new Map([
      [2, 1],
      [3, 1],
    ]),
  );
  const xml = renderJunit(report);
  expect(xml.match(/<skipped>not run: stage 1 failed first \(--all runs every stage\)<\/skipped>/g)).toHaveLength(2);
  expect(xml.match(/<testsuite /g)).toHaveLength(3);
});
