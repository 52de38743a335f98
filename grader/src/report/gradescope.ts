import type { GradeReport } from './grade-report.ts';
import type { TestOutcome } from '../runner/outcome.ts';
import { cutAt, visibleStrings } from '../sanitize.ts';

/** A test's output on Gradescope's page: the first failure in full, then bounded, as the pretty report does. */
const MAX_TEST_OUTPUT_CHARS = 8_000;

const bounded = (text: string) =>
  text.length > MAX_TEST_OUTPUT_CHARS ? `${cutAt(text, MAX_TEST_OUTPUT_CHARS - 40)}\n[... truncated: the JSON report has it all]` : text;

/** How the run was made, first in the submission's output: what an instructor reading a regrade request needs. */
function runLines(report: GradeReport): string[] {
  const lines = [`${report.exercise.title}: ${report.status.toUpperCase()} ${report.points}/${report.maxPoints} points`];
  const impairment = report.impairment;
  if (impairment)
    lines.push(
      `Network: ${impairment.profiles.map((p) => p.name).join(', ')} via ${impairment.backend} (${impairment.fidelity} fidelity), seed ${impairment.seed}.`,
    );
  if (!report.runtime.isolated) {
    lines.push(
      'Graded on the local runtime: Gradescope runs the autograder in a container with no container engine inside, so the submission ran as a process beside the tests and the bad network was a relay between them, not packet-level impairment.',
    );
  }
  if (report.buildError) lines.push('', 'The submission does not build:', report.buildError);
  if (report.graderErrors.length > 0) lines.push('', 'The grader itself failed; this score is not a verdict (ask for a regrade):', ...report.graderErrors);
  if (report.notices.length > 0) lines.push('', ...report.notices);
  return lines;
}

/**
 * Gradescope's autograder results.json: the total score; one entry per hidden test (a test run
 * under several links counts once and passes only if it passed under each, as netkata scores
 * it) with `score`, `max_score`, `name`, `output`, `visibility` and its stage as `tags`; a stage
 * with no test that ran (not run, or the build failed) as one entry worth its points, so the
 * entries' max_score add up to the report's. The scores add up to the report's points: a passed
 * test in a stage an earlier failure blocks scores 0, and its output says why.
 */
export function renderGradescope(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const groups = new Map<string, TestOutcome[]>();
  for (const test of report.tests) {
    const key = `${test.file}\0${test.name}`;
    groups.set(key, [...(groups.get(key) ?? []), test]);
  }
  const tests = report.stages.flatMap((stage) => {
    const ran = [...groups.values()].filter((runs) => runs[0]!.stage === stage.stage);
    if (ran.length === 0) {
      const why =
        stage.status === 'not-run'
          ? `Not run: stage ${stage.blockedBy} failed first.`
          : report.buildError
            ? 'Not run: the submission does not build.'
            : 'No test of this stage ran.';
      return [
        {
          name: `stage ${stage.stage}: ${stage.title}`,
          number: `${stage.stage}`,
          score: 0,
          max_score: stage.maxPoints,
          status: 'failed',
          output: why,
          tags: [`stage ${stage.stage}`],
          visibility: 'visible',
        },
      ];
    }
    return ran.map((runs, index) => {
      const points = runs[0]!.points ?? 0;
      const passed = runs.every((t) => t.status === 'passed');
      const blocked = passed && stage.blockedBy !== undefined;
      const output = runs.map((t) => {
        const link = t.profile ?? 'clean';
        if (t.status === 'skipped' && t.error) return `not run over the ${link} link: ${t.error}`;
        if (t.status !== 'failed') return `${t.status} over the ${link} link in ${t.durationMs} ms`;
        return [
          `failed over the ${link} link:`,
          t.error ?? 'failed',
          t.transcript && `transcript:\n${t.transcript}`,
          t.serverLog && `your program's output:\n${t.serverLog}`,
        ]
          .filter(Boolean)
          .join('\n');
      });
      if (blocked) output.push(`It counts once stage ${stage.blockedBy} passes: stages build on each other.`);
      return {
        name: `stage ${stage.stage}: ${runs[0]!.name}`,
        number: `${stage.stage}.${index + 1}`,
        score: passed && !blocked ? points : 0,
        max_score: points,
        status: passed ? 'passed' : 'failed',
        output: bounded(output.join('\n\n')),
        tags: [`stage ${stage.stage}`],
        visibility: 'visible',
      };
    });
  });
  const results = {
    score: report.points,
    execution_time: Math.round(report.durationMs / 1000),
    output: bounded(runLines(report).join('\n')),
    output_format: 'text',
    test_output_format: 'text',
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests,
  };
  return `${JSON.stringify(results, null, 2)}\n`;
}
