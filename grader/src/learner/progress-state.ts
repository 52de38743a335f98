import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { notice } from '../log.ts';
import { repoRoot } from '../paths.ts';
import type { GradeReport } from '../report/grade-report.ts';

/**
 * What the learner has done, kept between runs in `.netkata/progress.json` (git-ignored):
 * per exercise, the best and the latest result of its visible tests and of its hidden grade,
 * and whether the hidden suite has passed whole. Rewritten whole, through a rename.
 */
const resultSchema = z.strictObject({
  status: z.enum(['pass', 'fail', 'error']),
  points: z.int().nonnegative(),
  maxPoints: z.int().nonnegative(),
  stagesPassed: z.array(z.int().positive()),
  stageCount: z.int().nonnegative(),
  at: z.string(),
});

const entrySchema = z.strictObject({ best: resultSchema, last: resultSchema });

const progressSchema = z.strictObject({
  version: z.literal(1),
  exercises: z.record(
    z.string(),
    z.strictObject({
      test: entrySchema.optional(),
      grade: entrySchema.optional(),
      /** The hidden suite passed whole (every stage, no filter) on the learner's own folder. */
      completed: z.boolean().default(false),
      /** How many rungs of each stage's hint ladder `netkata hint` has shown, by stage number. */
      hintsShown: z.record(z.string(), z.int().nonnegative()).default({}),
    }),
  ),
});

export type Progress = z.infer<typeof progressSchema>;
export type ProgressResult = z.infer<typeof resultSchema>;

/** The state file; NETKATA_PROGRESS_FILE moves it (the project's tests use a scratch one). */
function progressFile(): string {
  return process.env.NETKATA_PROGRESS_FILE ?? path.join(repoRoot, '.netkata', 'progress.json');
}

const empty = (): Progress => ({ version: 1, exercises: {} });

/** Why a state file is not usable, in one line: the first problem zod or JSON.parse found, and where. */
function whyUnreadable(error: unknown): string {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0]!;
    return `${issue.path.length > 0 ? `at ${issue.path.join('.')}: ` : ''}${issue.message}${error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''}`;
  }
  return (error as Error).message.split('\n')[0]!;
}

/**
 * Reads the state; a missing file is a fresh start, a broken or unknown one (another version)
 * is kept aside as `.bad` and said so in one line: never a crash, never silently thrown away.
 */
export async function loadProgress(file = progressFile()): Promise<Progress> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      notice(`${file} could not be read (${(error as Error).message}); going on without your recorded progress`);
    return empty();
  }
  try {
    return progressSchema.parse(JSON.parse(text));
  } catch (error) {
    const kept = await rename(file, `${file}.bad`).then(
      () => `the old file is ${path.basename(file)}.bad`,
      (renameError: Error) => `it could not be kept aside (${renameError.message}) and will be overwritten on the next result`,
    );
    notice(`${file} is not a netkata progress file (${whyUnreadable(error)}); starting afresh, ${kept}`);
    return empty();
  }
}

export async function saveProgress(progress: Progress, file = progressFile()): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(progress, null, 2)}\n`);
  await rename(temporary, file);
}

const better = (a: ProgressResult, b: ProgressResult) => a.points > b.points || (a.points === b.points && a.stagesPassed.length > b.stagesPassed.length);

/**
 * Records a run of the learner's own exercise folder: `kind` test (visible) or grade (hidden),
 * when no filter (`--stages`, `-t`, `--suite`) narrowed it (`complete`). Other folders and the
 * reference solution are not the learner's progress, so `own: false` records nothing; nor does a
 * run the grader itself failed in (status 'error'). A worse result is kept as `last`, never as `best`.
 */
export async function recordResult(
  report: GradeReport,
  run: { kind: 'test' | 'grade'; own: boolean; complete: boolean },
  file = progressFile(),
): Promise<void> {
  // A filtered run's score is of part of the exercise: "10/10" for `--stages 1` would mislead.
  // A run with grader errors ('error') says nothing sure about the learner's code either.
  if (!run.own || !run.complete || report.status === 'error') return;
  const progress = await loadProgress(file);
  const result: ProgressResult = {
    status: report.status,
    points: report.points,
    maxPoints: report.maxPoints,
    stagesPassed: report.stages.filter((s) => s.status === 'pass').map((s) => s.stage),
    stageCount: report.stages.length,
    at: new Date().toISOString(),
  };
  const entry = progress.exercises[report.exercise.id] ?? { completed: false, hintsShown: {} };
  const previous = entry[run.kind];
  entry[run.kind] = { best: previous && !better(result, previous.best) ? previous.best : result, last: result };
  if (run.kind === 'grade' && run.complete && report.status === 'pass') entry.completed = true;
  progress.exercises[report.exercise.id] = entry;
  await saveProgress(progress, file);
}
