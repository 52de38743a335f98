import type { GradeReport } from './grade-report.ts';
import { cutAt, visibleStrings } from '../sanitize.ts';

/**
 * What a hidden test checks, in words, for Exercism's `test_code`: learners there cannot read
 * the suite, so the field names the test, its stage and points, the link it ran over, and where
 * the exercise's README states what it holds the program to. No code of the hidden suite.
 */
function describeTest(report: GradeReport, test: GradeReport['tests'][number]): string {
  const stage = report.stages.find((s) => s.stage === test.stage);
  const profile = test.profile ?? 'clean';
  const calibration = report.impairment?.profiles.find((p) => p.name === profile)?.calibration;
  const measured = calibration
    ? ` (measured on this run: ${Object.entries(calibration.figures)
        .map(([name, value]) => `${name} ${Number(value.toFixed(2))}`)
        .join(', ')})`
    : '';
  return [
    `Hidden test "${test.name}" of ${report.exercise.title}, stage ${test.stage}${stage ? `: ${stage.title}` : ''}, worth ${test.points ?? 0} point${test.points === 1 ? '' : 's'}.`,
    profile === 'clean'
      ? 'It connects to your program over a clean link.'
      : `It connects to your program over the "${profile}" link, made bad on purpose${measured}.`,
    `What it holds your program to is in the README's stage ${test.stage} section: the protocol, every limit, and the network it meets.`,
  ].join('\n');
}

/**
 * Exercism's test-runner interface, results.json version 3: `status` pass | fail | error (no
 * test ran), `message` for a run that could not test (build error, grader error), one entry per test with
 * `test_code` (what the hidden test checks, in words), `task_id` (our stage) and `output`
 * (transcript and server output, capped at 500 characters as the spec asks).
 * JSON.stringify already escapes C0 controls and lone surrogates; the text is made visible all
 * the same (visibleStrings): the website and other consumers show these strings to people, and
 * an escaped lone surrogate (`"\ud800"`) is rejected by strict JSON parsers.
 */
export function renderExercism(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const cap = (text: string, max: number) => (text.length > max ? `${cutAt(text, max - 20)}\n[... truncated]` : text);
  // `error` means no test ran (the build failed, or the grader did before any test): a grader
  // error after some tests ran is one more entry, so their results still show.
  const error = report.buildError ?? (report.tests.length === 0 && report.graderErrors.length > 0 ? report.graderErrors.join('\n') : undefined);
  const tests = report.tests.map((test) => ({
    name: test.profile && test.profile !== 'clean' ? `${test.name} [${test.profile}]` : test.name,
    test_code: describeTest(report, test),
    status: test.status === 'passed' ? 'pass' : test.status === 'failed' ? 'fail' : 'error',
    ...(test.status === 'passed' ? {} : { message: test.error ?? (test.status === 'skipped' ? 'skipped: it did not run' : 'failed') }),
    ...(test.transcript || test.serverLog ? { output: cap([test.transcript, test.serverLog].filter(Boolean).join('\n'), 500) } : {}),
    ...(test.stage === undefined ? {} : { task_id: test.stage }),
  }));
  if (error === undefined) {
    for (const graderError of report.graderErrors) {
      tests.push({
        name: 'netkata grader error',
        test_code: 'Not a test: the grader itself failed here, so this run is no verdict. Run the tests again.',
        status: 'error',
        message: graderError,
      });
    }
  }
  const results = {
    version: 3,
    status: error === undefined ? (report.status === 'pass' && tests.every((t) => t.status === 'pass') ? 'pass' : 'fail') : 'error',
    // The spec bounds the top-level message at 65,535 characters.
    ...(error === undefined ? {} : { message: cap(error, 65_535) }),
    tests,
  };
  return `${JSON.stringify(results, null, 2)}\n`;
}
