import type { GradeReport } from './grade-report.ts';
import { renderPretty } from './pretty.ts';

/** Workflow commands escape %, CR and LF in messages, and also : and , in properties. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * GitHub Actions: the pretty report for the log, plus an `::error` annotation per failing test
 * (pointing at the exercise's source the learner edits) and a `::notice` with the score.
 */
export function renderGithub(report: GradeReport, sourcePath: string): string {
  const out = [renderPretty(report, false)];
  if (report.buildError) out.push(`::error file=${escapeProperty(sourcePath)},title=${escapeProperty('does not build')}::${escapeData(report.buildError)}`);
  for (const test of report.tests.filter((t) => t.status === 'failed')) {
    const link = test.profile && test.profile !== 'clean' ? ` [${test.profile}]` : '';
    const title = `stage ${test.stage}: ${test.name}${link}`;
    out.push(`::error file=${escapeProperty(sourcePath)},title=${escapeProperty(title)}::${escapeData(test.error ?? 'failed')}`);
  }
  for (const error of report.graderErrors) out.push(`::error title=${escapeProperty('netkata grader error')}::${escapeData(error)}`);
  out.push(`::notice title=${escapeProperty(`netkata ${report.exercise.id}`)}::${escapeData(`${report.status.toUpperCase()} ${report.points}/${report.maxPoints} points`)}`);
  return `${out.join('\n')}\n`;
}
