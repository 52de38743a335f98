import path from 'node:path';
import { findExercise, isDirectory, type Exercise } from '../catalog/catalog.ts';
import { resolveSubmission } from '../build/submission.ts';
import { ConfigError, SubmissionBuildError } from '../errors.ts';
import type { BuildMode } from '../images/ensure-image.ts';
import { notice } from '../log.ts';
import { buildFailureReport, scoreRun, type GradeReport } from '../report/grade-report.ts';
import { prepareRun, type RuntimeChoice } from '../runner/prepare-run.ts';
import { runSuite } from '../runner/run-suite.ts';
import type { TestOutcome } from '../runner/outcome.ts';
import type { Teardown } from '../teardown.ts';

export interface GradeOptions {
  readonly exercise: string;
  readonly submission?: string;
  readonly solution?: boolean;
  /** Another folder of hidden tests (an instructor's private suite). */
  readonly suite?: string;
  readonly visible?: boolean;
  readonly runtime: RuntimeChoice;
  readonly buildMode: BuildMode;
  readonly testNamePattern?: string;
  readonly teardown: Teardown;
  readonly progress?: boolean;
}

function submissionDir(exercise: Exercise, options: GradeOptions): string {
  if (options.solution && options.submission) throw new ConfigError('use either --solution or --submission, not both');
  if (options.solution) return exercise.solutionDir;
  return options.submission ? path.resolve(options.submission) : exercise.exerciseDir;
}

function printProgress(outcome: TestOutcome): void {
  const mark = outcome.status === 'passed' ? '✓' : outcome.status === 'failed' ? '✗' : '-';
  process.stderr.write(`  ${mark} stage ${outcome.stage ?? '?'} ${outcome.name} (${outcome.durationMs} ms)\n`);
}

/** Builds and grades a submission against an exercise's hidden suite (or its visible tests). */
export async function grade(options: GradeOptions): Promise<GradeReport> {
  const startedAt = new Date();
  const exercise = await findExercise(options.exercise);
  const suiteDir = path.resolve(options.suite ?? (options.visible ? exercise.visibleTestDir : exercise.suiteDir));
  if (!(await isDirectory(suiteDir))) throw new ConfigError(`test suite folder ${suiteDir} does not exist`);
  const submission = await resolveSubmission(submissionDir(exercise, options));
  const frame = (runtime: GradeReport['runtime'], notices: string[]) => ({
    schemaVersion: 1 as const,
    exercise: { id: exercise.manifest.id, title: exercise.manifest.title },
    submission: { path: path.relative(process.cwd(), submission.dir) || '.', kind: submission.kind },
    runtime,
    notices,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
  });

  let prepared;
  try {
    prepared = await prepareRun({ exercise, submission, runtime: options.runtime, buildMode: options.buildMode, teardown: options.teardown });
  } catch (error) {
    if (!(error instanceof SubmissionBuildError)) throw error;
    const runtime = { kind: options.runtime === 'local' ? 'local' : 'docker', version: '', isolated: false, impairment: 'none' } as const;
    return buildFailureReport(exercise.manifest, `${error.message}\n${error.output}`, frame(runtime, []));
  }
  if (options.progress) notice(`grading ${path.relative(process.cwd(), submission.dir) || '.'} against ${exercise.manifest.id} on the ${prepared.runtime.kind} runtime`);
  const run = await runSuite({
    suiteDir,
    context: prepared.context,
    testNamePattern: options.testNamePattern,
    teardown: options.teardown,
    onTest: options.progress ? printProgress : undefined,
  });
  // The built-in hidden suite must carry the manifest's points exactly; visible tests, a filtered
  // run or an instructor's own suite (--suite) score by the points their tests carry.
  return scoreRun(exercise.manifest, run, frame(prepared.runtime, prepared.notices), !options.visible && !options.testNamePattern && !options.suite);
}
