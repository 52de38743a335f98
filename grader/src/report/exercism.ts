import type { GradeReport } from './grade-report.ts';
import { cutAt, visibleStrings } from '../sanitize.ts';

/**
 * Exercism's test-runner interface, results.json version 3: `status` pass | fail | error,
 * `message` for a run that could not test (build error, grader error), one entry per test with
 * `task_id` (our stage) and `output` (transcript and server output, capped at 500 characters
 * as the spec asks).
 * JSON.stringify already escapes C0 controls and lone surrogates; the text is made visible all
 * the same (visibleStrings): the website and other consumers show these strings to people, and
 * an escaped lone surrogate (`"\ud800"`) is rejected by strict JSON parsers.
 */
export function renderExercism(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const cap = (text: string) => (text.length > 500 ? `${cutAt(text, 480)}\n[... truncated]` : text);
  const status = report.buildError || report.graderErrors.length > 0 ? 'error' : report.status;
  const results = {
    version: 3,
    status,
    ...(report.buildError ? { message: report.buildError } : report.graderErrors.length > 0 ? { message: report.graderErrors.join('\n') } : {}),
    tests: report.tests.map((test) => ({
      name: test.profile && test.profile !== 'clean' ? `${test.name} [${test.profile}]` : test.name,
      status: test.status === 'passed' ? 'pass' : test.status === 'failed' ? 'fail' : 'error',
      ...(test.error ? { message: test.error } : {}),
      ...(test.transcript || test.serverLog ? { output: cap([test.transcript, test.serverLog].filter(Boolean).join('\n')) } : {}),
      ...(test.stage === undefined ? {} : { task_id: test.stage }),
    })),
  };
  return `${JSON.stringify(results, null, 2)}\n`;
}
