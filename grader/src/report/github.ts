import type { GradeReport } from './grade-report.ts';
import { renderPretty } from './pretty.ts';
import { actionsLog, commandData, commandProperty, markdownText, visibleStrings } from '../sanitize.ts';

/** An annotation shows a short message; the log above it has the whole story. */
const ANNOTATION_BOUNDS = { maxLines: 20, maxLineChars: 500 } as const;

/**
 * GitHub shows at most 10 error annotations of one step (and 50 of a job); the ones past it are
 * dropped without a word. The reporter merges instead, so every failure is in one of 10.
 */
const MAX_ERROR_ANNOTATIONS = 10;

/** The job summary's share of the report: GitHub takes 1 MiB per step; a class's batch has many steps. */
const MAX_SUMMARY_FAILURES = 50;

interface Annotation {
  readonly title: string;
  readonly message: string;
  readonly onSource: boolean;
  /** Several failures in one: it gets a line for each. */
  readonly merged?: boolean;
}

const testTitle = (test: GradeReport['tests'][number]) =>
  `stage ${test.stage}: ${test.name}${test.profile && test.profile !== 'clean' ? ` [${test.profile}]` : ''}`;

/**
 * The failures as at most MAX_ERROR_ANNOTATIONS annotations: one each while they fit; past
 * that, one per stage; past that too, the last stage's carries the rest. A build error and
 * grader errors keep one each (a grade has at most a few).
 */
function errorAnnotations(report: GradeReport): Annotation[] {
  const failed = report.tests.filter((t) => t.status === 'failed');
  const build = report.buildError ? [{ title: 'does not build', message: report.buildError, onSource: true }] : [];
  // Grader errors (one per faulted test) are one annotation past two, so failures keep room.
  const grader =
    report.graderErrors.length <= 2
      ? report.graderErrors.map((error) => ({ title: 'netkata grader error', message: error, onSource: false }))
      : [
          {
            title: `netkata grader errors (${report.graderErrors.length})`,
            message: report.graderErrors.map((e) => e.split('\n')[0]).join('\n'),
            onSource: false,
            merged: true,
          },
        ];
  const each = failed.map((test) => ({ title: testTitle(test), message: test.error ?? 'failed', onSource: true }));
  // At most 1 + 2 annotations above, so failures always have 7 or more.
  const room = MAX_ERROR_ANNOTATIONS - build.length - grader.length;
  if (each.length <= room) return [...build, ...each, ...grader];
  const byStage = [...new Set(failed.map((t) => t.stage))].map((stage) => {
    const tests = failed.filter((t) => t.stage === stage);
    return {
      title: `stage ${stage}: ${tests.length} test${tests.length === 1 ? '' : 's'} failed`,
      message: tests.map((t) => `${testTitle(t)}: ${(t.error ?? 'failed').split('\n')[0]}`).join('\n'),
      onSource: true,
      merged: true,
    };
  });
  if (byStage.length <= room) return [...build, ...byStage, ...grader];
  const rest = byStage.slice(room - 1);
  const merged = {
    title: `${rest.length} more failures (the log above has each in full)`,
    message: rest.map((a) => a.message).join('\n'),
    onSource: true,
    merged: true,
  };
  return [...build, ...byStage.slice(0, room - 1), merged, ...grader];
}

/**
 * GitHub Actions: the pretty report for the log, plus `::error` annotations for the failures
 * (pointing at the exercise's source the learner edits), merged so none is lost past GitHub's
 * 10 per step, and a `::notice` with the score.
 * The log carries learner text, so it goes out between stop-commands markers with every line
 * made inert (actionsLog); only the annotations after it are commands, and their learner-derived
 * parts are escaped so they stay on one line and inside their property or message.
 */
export function renderGithub(untrusted: GradeReport, sourcePath: string): string {
  const report = visibleStrings(untrusted);
  const out = [actionsLog(renderPretty(report, { verbose: true }))];
  const file = commandProperty(sourcePath);
  for (const annotation of errorAnnotations(report)) {
    // The merged annotation lists many lines: it gets the lines it needs, each still bounded.
    const bounds = annotation.merged ? { ...ANNOTATION_BOUNDS, maxLines: 200 } : ANNOTATION_BOUNDS;
    out.push(`::error ${annotation.onSource ? `file=${file},` : ''}title=${commandProperty(annotation.title)}::${commandData(annotation.message, bounds)}`);
  }
  out.push(
    `::notice title=${commandProperty(`netkata ${report.exercise.id}`)}::${commandData(`${report.status.toUpperCase()} ${report.points}/${report.maxPoints} points`)}`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * The markdown GitHub shows on the run's page ($GITHUB_STEP_SUMMARY): the score, a table of the
 * stages, and each failing test with the first line of why. Every learner-derived string goes
 * through markdownText, so it is shown, never rendered.
 */
export function renderGithubSummary(untrusted: GradeReport): string {
  const report = visibleStrings(untrusted);
  const mark = { pass: '✅ pass', fail: '❌ fail', 'not-run': '⏭️ not run' } as const;
  const lines = [
    `### netkata ${markdownText(report.exercise.id)}: ${report.status.toUpperCase()} ${report.points}/${report.maxPoints} points`,
    '',
    `Submission ${markdownText(report.submission.path)}, ${report.runtime.kind} runtime${report.impairment ? `, ${report.impairment.backend} impairment, seed ${report.impairment.seed}` : ''}.`,
    '',
    '| stage | | status | points |',
    '| ---: | --- | --- | ---: |',
    ...report.stages.map(
      (s) =>
        `| ${s.stage} | ${markdownText(s.title)} | ${mark[s.status]}${s.blockedBy === undefined ? '' : ` (stage ${s.blockedBy} first)`} | ${s.points}/${s.maxPoints} |`,
    ),
  ];
  if (report.buildError) lines.push('', `**Does not build:** ${markdownText(report.buildError.split('\n')[0] ?? '')}`);
  for (const error of report.graderErrors) lines.push('', `**Grader error:** ${markdownText(error.split('\n')[0] ?? '')}`);
  const failed = report.tests.filter((t) => t.status === 'failed');
  if (failed.length > 0) {
    lines.push('', '| failing test | why |', '| --- | --- |');
    for (const test of failed.slice(0, MAX_SUMMARY_FAILURES))
      lines.push(`| ${markdownText(testTitle(test))} | ${markdownText((test.error ?? 'failed').split('\n')[0] ?? '')} |`);
    if (failed.length > MAX_SUMMARY_FAILURES) lines.push('', `${failed.length - MAX_SUMMARY_FAILURES} more failing tests: the job's log has every one.`);
  }
  return `${lines.join('\n')}\n\n`;
}
