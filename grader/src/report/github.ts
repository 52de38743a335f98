import type { GradeReport } from './grade-report.ts';
import { renderPretty } from './pretty.ts';
import { actionsLog, commandData, commandProperty, visibleStrings } from '../sanitize.ts';

/** An annotation shows a short message; the log above it has the whole story. */
const ANNOTATION_BOUNDS = { maxLines: 20, maxLineChars: 500 } as const;

/**
 * GitHub Actions: the pretty report for the log, plus an `::error` annotation per failing test
 * (pointing at the exercise's source the learner edits) and a `::notice` with the score.
 * The log carries learner text, so it goes out between stop-commands markers with every line
 * made inert (actionsLog); only the annotations after it are commands, and their learner-derived
 * parts are escaped so they stay on one line and inside their property or message.
 */
export function renderGithub(untrusted: GradeReport, sourcePath: string): string {
  const report = visibleStrings(untrusted);
  const out = [actionsLog(renderPretty(report, { verbose: true }))];
  const file = commandProperty(sourcePath);
  if (report.buildError) out.push(`::error file=${file},title=${commandProperty('does not build')}::${commandData(report.buildError, ANNOTATION_BOUNDS)}`);
  for (const test of report.tests.filter((t) => t.status === 'failed')) {
    const link = test.profile && test.profile !== 'clean' ? ` [${test.profile}]` : '';
    const title = `stage ${test.stage}: ${test.name}${link}`;
    out.push(`::error file=${file},title=${commandProperty(title)}::${commandData(test.error ?? 'failed', ANNOTATION_BOUNDS)}`);
  }
  for (const error of report.graderErrors) out.push(`::error title=${commandProperty('netkata grader error')}::${commandData(error, ANNOTATION_BOUNDS)}`);
  out.push(
    `::notice title=${commandProperty(`netkata ${report.exercise.id}`)}::${commandData(`${report.status.toUpperCase()} ${report.points}/${report.maxPoints} points`)}`,
  );
  return `${out.join('\n')}\n`;
}
