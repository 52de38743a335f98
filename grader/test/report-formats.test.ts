// The CI and autograder formats, checked as the systems that read them would check them: JUnit
// against Jenkins' schema, Exercism's results.json against its v3 interface, Gradescope's against
// its documented shape, and GitHub's annotations against the per-step limit that drops the rest.
import { describe, expect, test } from 'vitest';
import type { GradeReport } from '../src/report/grade-report.ts';
import type { TestOutcome } from '../src/runner/outcome.ts';
import { renderGithubSummary } from '../src/report/github.ts';
import { parseReporters, render } from '../src/report/reporters.ts';
import { exercismResults, gradescopeResults } from './helpers/result-schemas.ts';
import { expectActionsSafe, junitSchemaErrors } from './helpers/untrusted-output.ts';

/**
 * A class's worst case: 6 stages, 18 failing tests, one test under two links, a stage blocked by
 * an earlier failure (its passed test earns nothing), a stage not run, and hostile text in it.
 */
function manyFailures(): GradeReport {
  const tests: TestOutcome[] = [];
  for (let stage = 1; stage <= 6; stage++) {
    for (let i = 1; i <= 3; i++) {
      tests.push({
        name: `test ${i} of stage ${stage}`,
        file: `0${stage}-x.test.ts`,
        stage,
        points: 2,
        status: 'failed',
        profile: 'clean',
        durationMs: 100,
        error: `expected 'pong' got '${'<b>|x|</b>'}'\nsecond line`,
        transcript: '  0.001s c1 -> "ping"',
        serverLog: 'listening ![x](https://example.invalid/pixel.png) |',
      });
    }
  }
  tests.push({ name: 'test 4 of stage 1', file: '01-x.test.ts', stage: 1, points: 4, status: 'passed', profile: 'clean', durationMs: 5 });
  tests.push({ name: 'test 4 of stage 1', file: '01-x.test.ts', stage: 1, points: 4, status: 'passed', profile: 'wan', durationMs: 50 });
  tests.push({ name: 'test 4 of stage 2', file: '02-x.test.ts', stage: 2, points: 4, status: 'passed', profile: 'clean', durationMs: 5 });
  const stages = [1, 2, 3, 4, 5, 6].map((stage) => ({
    stage,
    title: `Stage ${stage} | <i>title</i>`,
    status: 'fail' as const,
    points: stage === 1 ? 4 : 0,
    maxPoints: stage <= 2 ? 10 : 6,
    ...(stage === 2 ? { blockedBy: 1 } : {}),
  }));
  return {
    schemaVersion: 1,
    graderVersion: '0.1.0',
    exercise: { id: 'echo-server', title: 'Echo server' },
    submission: { path: 'class/eve', kind: 'typescript' },
    runtime: { kind: 'docker', version: '20.10.24', isolated: true },
    impairment: {
      backend: 'userspace',
      fidelity: 'packet',
      seed: 42,
      profiles: [
        { name: 'clean', files: [] },
        { name: 'wan', files: [], calibration: { figures: { rttMs: 81.234, lossPercent: 1.02 } } as never },
      ],
    },
    status: 'fail',
    points: 4,
    maxPoints: 48,
    stages: [...stages, { stage: 7, title: 'Bad network', status: 'not-run', points: 0, maxPoints: 4, blockedBy: 1 }],
    tests,
    graderErrors: [],
    notices: ['userspace engine: every packet, both directions'],
    startedAt: '2026-12-03T11:37:24.123Z',
    durationMs: 61_000,
  };
}

describe('junit', () => {
  test("validates against Jenkins' JUnit schema, with the run's properties, times and timestamps", async () => {
    const text = render(manyFailures(), 'junit');
    expect(await junitSchemaErrors(text)).toEqual([]);
    for (const [name, value] of [
      ['netkata.seed', '42'],
      ['netkata.backend', 'userspace'],
      ['netkata.profile', 'clean,wan'],
      ['netkata.runtime', 'docker 20.10.24, isolated'],
      ['netkata.version', '0.1.0'],
    ]) {
      expect(text).toContain(`<property name="${name}" value="${value}"/>`);
    }
    expect(text).toMatch(
      /<testsuite name="stage 1: Stage 1 \| &lt;i&gt;title&lt;\/i&gt;" tests="5" failures="3" errors="0" skipped="0" time="0\.355" timestamp="2026-12-03T11:37:24" hostname="[^"]+">/,
    );
    expect(text).toContain("<system-out>the submission's output:\nlistening ![x](https://example.invalid/pixel.png) |</system-out>");
    expect(text).toContain('<system-out>userspace engine: every packet, both directions</system-out>');
  });

  test('a build failure, a grader error and a stage not run validate too', async () => {
    const report = { ...manyFailures(), buildError: 'src/main.ts(1,1): error TS1005', graderErrors: ['vitest crashed'] };
    const text = render(report, 'junit');
    expect(await junitSchemaErrors(text)).toEqual([]);
    expect(text).toContain('<skipped>not run: stage 1 failed first');
    // The schema is no rubber stamp: it rejects a testcase without a name.
    expect((await junitSchemaErrors(text.replace('name="the submission builds" ', ''))).join('\n')).toMatch(/name.*required/);
  });
});

describe('exercism', () => {
  test('results.json v3: test_code describes each hidden test without its code, task_id is the stage', () => {
    const results = exercismResults.parse(JSON.parse(render(manyFailures(), 'exercism')));
    expect(results.status).toBe('fail');
    const wan = results.tests!.find((t) => t.name === 'test 4 of stage 1 [wan]')!;
    expect(wan.task_id).toBe(1);
    expect(wan.test_code).toContain('Hidden test "test 4 of stage 1" of Echo server, stage 1: Stage 1 | <i>title</i>, worth 4 points.');
    expect(wan.test_code).toContain('over the "wan" link, made bad on purpose (measured on this run: rttMs 81.23, lossPercent 1.02)');
    expect(wan.test_code).not.toMatch(/expect\(|import /);
  });

  test('a build failure is status error with the message; a grader error after tests ran is one more entry', () => {
    const built = exercismResults.parse(JSON.parse(render({ ...manyFailures(), tests: [], buildError: 'src/main.ts(1,1): error TS1005' }, 'exercism')));
    expect(built).toMatchObject({ status: 'error', message: 'src/main.ts(1,1): error TS1005' });
    const crashed = exercismResults.parse(JSON.parse(render({ ...manyFailures(), graderErrors: ['vitest crashed'] }, 'exercism')));
    expect(crashed.status).toBe('fail');
    expect(crashed.tests!.at(-1)).toMatchObject({ name: 'netkata grader error', status: 'error', message: 'vitest crashed' });
  });
});

describe('gradescope', () => {
  test("results.json: one entry per test, scores adding up to the report's points and max scores to its maximum", () => {
    const report = manyFailures();
    const results = gradescopeResults.parse(JSON.parse(render(report, 'gradescope')));
    expect(results.score).toBe(report.points);
    expect(results.tests.reduce((sum, t) => sum + t.score, 0)).toBe(report.points);
    expect(results.tests.reduce((sum, t) => sum + t.max_score, 0)).toBe(report.maxPoints);
    // Run under two links, counted once; passed under both.
    const twice = results.tests.filter((t) => t.name === 'stage 1: test 4 of stage 1');
    expect(twice).toHaveLength(1);
    expect(twice[0]).toMatchObject({ score: 4, max_score: 4, status: 'passed', tags: ['stage 1'] });
    expect(twice[0]!.output).toMatch(/passed over the clean link[\s\S]*passed over the wan link/);
    // Passed, but stage 1 failed first: no points, and the output says why.
    const blocked = results.tests.find((t) => t.name === 'stage 2: test 4 of stage 2')!;
    expect(blocked).toMatchObject({ score: 0, max_score: 4, status: 'passed' });
    expect(blocked.output).toContain('It counts once stage 1 passes');
    expect(results.tests.find((t) => t.name === 'stage 7: Bad network')).toMatchObject({ score: 0, max_score: 4, output: 'Not run: stage 1 failed first.' });
  });

  test('the local runtime says what it cost: no sandbox, a relay for a network', () => {
    const report = { ...manyFailures(), runtime: { kind: 'local' as const, version: 'v20.20.2', isolated: false } };
    const results = gradescopeResults.parse(JSON.parse(render(report, 'gradescope')));
    expect(results.output).toContain('Graded on the local runtime');
    expect(results.output).toContain('not packet-level impairment');
  });
});

describe('github', () => {
  test('18 failures: at most 10 error annotations, and every failing test is named in one of them', () => {
    const report = manyFailures();
    const annotations = expectActionsSafe(render(report, 'github'), []);
    const errors = annotations.filter((a) => a.command === 'error');
    expect(errors.length).toBeLessThanOrEqual(10);
    const said = errors.map((a) => `${a.properties.title}\n${a.data}`).join('\n');
    for (const failed of report.tests.filter((t) => t.status === 'failed')) expect(said).toContain(`stage ${failed.stage}: ${failed.name}`);
    expect(annotations.at(-1)).toEqual({ command: 'notice', properties: { title: 'netkata echo-server' }, data: 'FAIL 4/48 points' });
  });

  test('a dozen grader errors are one annotation, and the failures keep theirs', () => {
    const report = { ...manyFailures(), graderErrors: Array.from({ length: 12 }, (_, i) => `test ${i} faulted\nstack`) };
    const errors = expectActionsSafe(render(report, 'github'), []).filter((a) => a.command === 'error');
    expect(errors.length).toBeLessThanOrEqual(10);
    expect(errors.filter((a) => a.properties.title!.startsWith('netkata grader error'))).toHaveLength(1);
    expect(errors.at(-1)!.data.split('\n')).toHaveLength(12);
    const said = errors.map((a) => `${a.properties.title}\n${a.data}`).join('\n');
    for (const failed of report.tests.filter((t) => t.status === 'failed')) expect(said).toContain(`stage ${failed.stage}: ${failed.name}`);
  });

  test('more stages than annotations: the last one carries the rest', () => {
    const base = manyFailures();
    const tests = Array.from({ length: 14 }, (_, i) => ({ ...base.tests[0]!, stage: i + 1, name: `only test of stage ${i + 1}` }));
    const report = { ...base, tests, buildError: 'does not build' };
    const errors = expectActionsSafe(render(report, 'github'), []).filter((a) => a.command === 'error');
    expect(errors).toHaveLength(10);
    expect(errors.at(-1)!.properties.title).toBe('6 more failures (the log above has each in full)');
    const said = errors.map((a) => `${a.properties.title}\n${a.data}`).join('\n');
    for (const t of tests) expect(said).toContain(`stage ${t.stage}: ${t.name}`);
  });

  test('the job summary: a table of the stages and failures, learner text escaped so no markdown or HTML renders', () => {
    const summary = renderGithubSummary(manyFailures());
    expect(summary).toMatch(/^### netkata echo\\-server: FAIL 4\/48 points$/m);
    expect(summary).toContain('| 1 | Stage 1 \\| \\<i\\>title\\<\\/i\\> | ❌ fail | 4/10 |');
    expect(summary).toContain('| 2 | Stage 2 \\| \\<i\\>title\\<\\/i\\> | ❌ fail (stage 1 first) | 0/10 |');
    expect(summary).toContain('| 7 | Bad network | ⏭️ not run (stage 1 first) | 0/4 |');
    // Every failing test has a row; its hostile text stays text: no raw tag, pipe or link.
    const rows = summary.split('\n').filter((l) => /^\| stage \d/.test(l));
    expect(rows).toHaveLength(18);
    expect(rows[0]).toBe("| stage 1\\: test 1 of stage 1 | expected \\'pong\\' got \\'\\<b\\>\\|x\\|\\<\\/b\\>\\' |");
    for (const row of rows) expect(row.replace(/\\[|<>]/g, '').match(/[|<>]/g)).toHaveLength(3);
  });
});

describe('--reporter', () => {
  test('several at once, each to its file, one to stdout; --output is where the one without a file goes', () => {
    expect(parseReporters('pretty,junit=out.xml,json=a=b.json')).toEqual([
      { reporter: 'pretty' },
      { reporter: 'junit', file: 'out.xml' },
      { reporter: 'json', file: 'a=b.json' },
    ]);
    expect(parseReporters('junit', 'report.xml')).toEqual([{ reporter: 'junit', file: 'report.xml' }]);
    expect(() => parseReporters('pretty,json')).toThrow(/only one reporter can write to stdout; give the others a file \(json=FILE\)/);
    expect(() => parseReporters('junit=x.xml,json=./x.xml')).toThrow(/two reporters would write/);
    expect(() => parseReporters('tap')).toThrow(/--reporter takes pretty, json, junit, exercism, gradescope, github/);
    expect(() => parseReporters('junit=')).toThrow(/names no file/);
  });
});
